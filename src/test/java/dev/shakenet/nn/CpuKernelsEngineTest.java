package dev.shakenet.nn;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.shakenet.bench.OpProfiler;
import dev.shakenet.torch.CpuKernels;
import dev.shakenet.torch.DType;
import dev.shakenet.torch.Device;
import dev.shakenet.torch.Generator;
import dev.shakenet.torch.MemoryFormat;
import dev.shakenet.torch.ShakeShake.Level;
import dev.shakenet.torch.ShakeShake.Mode;
import dev.shakenet.torch.Tensor;
import dev.shakenet.torch.TensorScope;
import dev.shakenet.torch.Torch;
import dev.shakenet.torch.TorchException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The CPU-kernels engine computes the reference engine's training step: from the same weights,
 * batch and shake generator, the same logits, loss, gradients, running statistics and updated
 * parameters, in float32 and bfloat16, over widths that take every kernel (multiples of 16:
 * Winograd, blocked layout, grouped batch norms, folded block ends) and widths that take the
 * fallbacks (other channel counts, the contiguous layout).
 */
class CpuKernelsEngineTest {
    private static final Shake SHAKE_SHAKE_IMAGE = new Shake(Mode.SHAKE, Mode.SHAKE, Level.IMAGE);

    @BeforeEach
    void needsTheKernels() {
        assumeTrue(CpuKernels.available(), "this libshakenet has no CPU kernels (built without oneDNN's headers): CPU-kernels test skipped");
    }

    /**
     * Tolerances, as whole-tensor relative differences: float32 steps differ by Winograd's
     * rounding (~1e-6 of a result's scale) and by the few ReLU decisions it flips, which move a
     * layer's gradient by up to ~1% (measured: at most 1.2%); bfloat16 steps round every
     * activation to 8 bits in both engines, at different places (measured: at most 4%). A wrong
     * coefficient, layout or statistic moves a tensor by tens of percent.
     */
    @ParameterizedTest(name = "width {0}, batch {1}, {2}, {3}, shake {4}")
    @CsvSource({
            "16, 4, CHANNELS_LAST, FLOAT32, shake-shake-image",
            "40, 5, CHANNELS_LAST, FLOAT32, shake-keep-batch",
            "6, 3, CHANNELS_LAST, FLOAT32, shake-even-image",
            "16, 4, CONTIGUOUS, FLOAT32, shake-shake-image",
            "16, 4, CHANNELS_LAST, BFLOAT16, shake-shake-image",
            "8, 5, CHANNELS_LAST, BFLOAT16, even-shake-image"})
    void aTrainingStepMatchesTheReferenceEngines(int width, int batch, MemoryFormat format, DType precision, String shake) {
        Shake rule = parse(shake);
        Engine reference = Engine.choose(Engine.Choice.REFERENCE, Device.CPU), kernels = Engine.choose(Engine.Choice.CPU_KERNELS, Device.CPU);
        if (precision == DType.FLOAT32) {
            Map<String, double[]> expected = step(reference, width, batch, format, null, rule);
            Map<String, double[]> actual = step(kernels, width, batch, format, null, rule);
            assertEquals(expected.keySet(), actual.keySet());
            for (String key : expected.keySet()) {
                double difference = ModelStep.relativeDifference(expected.get(key), actual.get(key), key);
                double allowed = key.startsWith("grad.") || key.startsWith("step.") ? 0.03 : 1e-3;
                assertTrue(difference <= allowed, key + ": relative difference " + difference + " (allowed " + allowed + ")");
            }
        } else {
            // Both engines round to bfloat16 at different places: each is compared with the float32
            // step, and the kernels may stray from it no further than libtorch's bfloat16 ops do.
            Map<String, double[]> exact = step(reference, width, batch, format, null, rule);
            Map<String, double[]> libtorch = step(reference, width, batch, format, precision, rule);
            Map<String, double[]> actual = step(kernels, width, batch, format, precision, rule);
            assertEquals(exact.keySet(), actual.keySet());
            for (String key : exact.keySet()) {
                double theirs = ModelStep.relativeDifference(exact.get(key), libtorch.get(key), key);
                double ours = ModelStep.relativeDifference(exact.get(key), actual.get(key), key);
                assertTrue(ours <= 2 * theirs + 0.02, key + ": " + ours + " from float32, libtorch's bfloat16 ops " + theirs);
            }
        }
    }

    /** The engine really runs the native kernels, not libtorch's ops (libtorch 1.x's profiler names them). */
    @Test
    void theStageRunsTheHandWrittenKernels() {
        assumeTrue(Torch.version().startsWith("1."), "the per-op profiler is built for libtorch 1.x");
        Set<String> ops;
        try (TensorScope scope = TensorScope.open(); Generator g = Generator.create(Device.CPU, 1);
             ShakeResNet model = new ShakeResNet(8, 16, 10, ShakeCoefficients.drawn(SHAKE_SHAKE_IMAGE, g),
                     new Init(Device.CPU, MemoryFormat.CHANNELS_LAST, g))) {
            Tensor x = Tensor.randn(0, 1, DType.FLOAT32, Device.CPU, g, 4, 3, 16, 16).to(MemoryFormat.CHANNELS_LAST);
            OpProfiler profiler = OpProfiler.start();
            Engine.choose(Engine.Choice.CPU_KERNELS, Device.CPU).forward(model, x).sum().backward();
            ops = profiler.stop().stream().map(OpProfiler.Op::name).collect(Collectors.toSet());
        }
        for (String kernel : List.of("shakenet::shake_batch_norm_add_relu_forward", "shakenet::shake_batch_norm_add_relu_backward")) {
            assertTrue(ops.contains(kernel), kernel + " ran: " + ops);
        }
    }

    @Test
    void evaluationRunsTheReferenceForward() {
        try (TensorScope scope = TensorScope.open(); Generator g = Generator.create(Device.CPU, 2);
             ShakeResNet model = new ShakeResNet(8, 16, 10, ShakeCoefficients.drawn(SHAKE_SHAKE_IMAGE, g),
                     new Init(Device.CPU, MemoryFormat.CHANNELS_LAST, g))) {
            Tensor x = Tensor.randn(0, 1, DType.FLOAT32, Device.CPU, g, 3, 3, 16, 16).to(MemoryFormat.CHANNELS_LAST);
            model.train(false);
            assertArrayEquals(model.forward(x).toFloatArray(), Engine.choose(Engine.Choice.CPU_KERNELS, Device.CPU).forward(model, x).toFloatArray());
        }
    }

    @Test
    void aStageCallWithTheWrongTensorsSaysWhatIsWrong() {
        try (TensorScope scope = TensorScope.open(); Generator g = Generator.create(Device.CPU, 3)) {
            Tensor x = Tensor.randn(0, 1, DType.FLOAT32, Device.CPU, g, 2, 4, 8, 8);
            IllegalArgumentException count = assertThrows(IllegalArgumentException.class,
                    () -> CpuKernels.shakeStage(x, null, 1, 1, List.of(x), 0.1, 1e-5));
            assertTrue(count.getMessage().contains("1 blocks take 28 tensors, got 1"), count.getMessage());
            List<Tensor> tensors = new ArrayList<>(Collections.nCopies(CpuKernels.BLOCK_TENSORS, (Tensor) null));
            TorchException missing = assertThrows(TorchException.class, () -> CpuKernels.shakeStage(x, null, 1, 1, tensors, 0.1, 1e-5));
            assertTrue(missing.getMessage().contains("tensors[0]"), missing.getMessage());
        }
    }

    @Test
    void cpuKernelsAreRefusedOnCudaWithTheFix() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Engine.choose(Engine.Choice.CPU_KERNELS, Device.cuda(0)));
        assertTrue(e.getMessage().contains("runs on the CPU only") && e.getMessage().contains("\"reference\""), e.getMessage());
        assertEquals("reference", Engine.choose(Engine.Choice.AUTO, Device.cuda(0)).name());
        assertEquals("cpu_kernels", Engine.choose(Engine.Choice.AUTO, Device.CPU).name());
    }

    /** One step from weights seeded 4, a batch seeded 5 and shake coefficients seeded 6. */
    private static Map<String, double[]> step(Engine engine, int width, int batch, MemoryFormat format, DType autocast, Shake shake) {
        try (TensorScope scope = TensorScope.open(); Generator init = Generator.create(Device.CPU, 4); Generator data = Generator.create(Device.CPU, 5);
             Generator coefficients = Generator.create(Device.CPU, 6);
             ShakeResNet model = new ShakeResNet(14, width, 10, ShakeCoefficients.drawn(shake, coefficients), new Init(Device.CPU, format, init))) {
            Tensor x = Tensor.randn(0, 1, DType.FLOAT32, Device.CPU, data, batch, 3, 16, 16).to(format);
            long[] labels = new long[batch];
            for (int i = 0; i < batch; i++) labels[i] = (i * 7 + 3) % 10;
            return ModelStep.train(model, engine, x, Tensor.fromLongs(labels, batch), autocast);
        }
    }

    private static Shake parse(String name) {
        String[] p = name.split("-");
        return new Shake(Mode.valueOf(p[0].toUpperCase()), Mode.valueOf(p[1].toUpperCase()), Level.valueOf(p[2].toUpperCase()));
    }
}
