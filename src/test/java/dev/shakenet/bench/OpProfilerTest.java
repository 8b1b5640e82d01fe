package dev.shakenet.bench;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.shakenet.torch.DType;
import dev.shakenet.torch.Device;
import dev.shakenet.torch.Functional;
import dev.shakenet.torch.Tensor;
import dev.shakenet.torch.TensorScope;
import dev.shakenet.torch.Torch;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** libtorch's profiler through the shim: the ops a region ran, counted and timed. */
class OpProfilerTest {
    @Test
    void seesForwardAndBackwardOpsWithTheirCallCounts() {
        assumeTrue(Torch.version().startsWith("1."), "the per-op profiler is built for libtorch 1.x; this is " + Torch.version());
        List<OpProfiler.Op> ops;
        try (TensorScope scope = TensorScope.open()) {
            Tensor x = Tensor.ones(DType.FLOAT32, Device.CPU, 2, 3, 8, 8);
            Tensor w = Tensor.ones(DType.FLOAT32, Device.CPU, 4, 3, 3, 3).requiresGrad(true);
            OpProfiler profiler = OpProfiler.start();
            for (int i = 0; i < 3; i++) Functional.conv2d(x, w, null, 1, 1).sum().backward();
            ops = profiler.stop();
        }
        Map<String, OpProfiler.Op> byName = ops.stream().collect(Collectors.toMap(OpProfiler.Op::name, Function.identity()));
        assertEquals(3, byName.get("aten::conv2d").calls(), "three forward convolutions");
        assertEquals(3, byName.get("aten::convolution_backward").calls(), "three backward convolutions");
        for (OpProfiler.Op op : ops) {
            assertTrue(op.selfMicros() <= op.totalMicros() + 1e-6, op.name() + ": self time within total");
            assertTrue(op.selfMicros() >= -1e-6, op.name() + ": self time not negative");
        }
        assertTrue(byName.get("aten::conv2d").totalMicros() > byName.get("aten::conv2d").selfMicros(),
                "conv2d's time is mostly in the ops it calls");
        for (int i = 1; i < ops.size(); i++) assertTrue(ops.get(i - 1).selfMicros() >= ops.get(i).selfMicros(), "sorted by self time");
    }
}
