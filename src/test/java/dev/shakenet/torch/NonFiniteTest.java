package dev.shakenet.torch;

import static org.junit.jupiter.api.Assertions.*;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** sn_nonfinite_record: which steps saw an inf or NaN, in values or gradients, counted on the device. */
class NonFiniteTest {
    /** On CUDA the check concatenates per dtype; on the CPU it takes small tensors that way too. Skipped without a GPU. */
    @ParameterizedTest
    @ValueSource(strings = {"cpu", "cuda"})
    void countsTheStepsWithAnInfOrNanAndKeepsTheFirst(String deviceName) {
        if (deviceName.equals("cuda")) Cuda.assumeAvailable();
        Device device = Device.parse(deviceName);
        try (TensorScope scope = TensorScope.open(); NonFinite record = new NonFinite(device)) {
            Tensor finite = Tensor.fromFloats(new float[] {1, -2, 3e38f, -0f}, 4).to(device);
            Tensor inf = Tensor.fromFloats(new float[] {1, Float.NEGATIVE_INFINITY}, 2).to(device);
            Tensor nan = Tensor.fromDoubles(new double[] {Double.NaN}, 1).to(device);
            Tensor integers = Tensor.fromLongs(new long[] {Long.MAX_VALUE, -1}, 2).to(device);
            record.record(4, List.of(finite, integers), List.of());
            assertEquals(new NonFinite.Count(0, -1), record.read());
            record.record(7, List.of(finite, inf), List.of());
            assertEquals(new NonFinite.Count(1, 7), record.read());
            record.record(9, List.of(nan), List.of());
            record.record(10, List.of(finite), List.of());
            assertEquals(new NonFinite.Count(2, 7), record.read(), "two bad steps, the first kept");
            record.reset();
            assertEquals(new NonFinite.Count(0, -1), record.read());
        }
    }

    /** Tensors of 16,384 elements and more take another path on the CPU (their extremes, without a copy). */
    @Test
    void findsASingleBadValueInALargeTensor() {
        try (TensorScope scope = TensorScope.open(); NonFinite record = new NonFinite(Device.CPU)) {
            float[] values = new float[100_000];
            for (int i = 0; i < values.length; i++) values[i] = (float) Math.sin(i) * 1e30f;
            record.record(0, List.of(Tensor.fromFloats(values, 100, 1000)), List.of());
            assertEquals(0, record.read().steps(), "large but finite");
            for (float bad : new float[] {Float.NaN, Float.NEGATIVE_INFINITY, Float.POSITIVE_INFINITY}) {
                float[] copy = values.clone();
                copy[77_777] = bad;
                record.reset();
                record.record(3, List.of(Tensor.fromFloats(copy, 100, 1000).asStrided(new long[] {1000, 100}, new long[] {1, 1000}, 0)), List.of());
                assertEquals(new NonFinite.Count(1, 3), record.read(), "one " + bad + " in 100,000 values, a transposed view");
            }
        }
    }

    @Test
    void looksAtGradientsWhereAsked() {
        try (TensorScope scope = TensorScope.open(); NonFinite record = new NonFinite(Device.CPU)) {
            Tensor x = Tensor.fromFloats(new float[] {1, 2, 3}, 3).requiresGrad(true);
            Tensor untouched = Tensor.fromFloats(new float[] {Float.NaN}, 1).requiresGrad(true); // no gradient: not looked at
            x.mul(Tensor.fromFloats(new float[] {1, Float.NaN, 1}, 3)).sum().backward(); // d/dx = (1, NaN, 1)
            record.record(0, List.of(x), List.of(untouched));
            assertEquals(0, record.read().steps(), "x's values are finite and `untouched` has no gradient");
            record.record(1, List.of(), List.of(x));
            assertEquals(new NonFinite.Count(1, 1), record.read(), "x's gradient holds a NaN");
        }
    }

    @Test
    void namesTheTensorsThatHoldOne() {
        try (TensorScope scope = TensorScope.open()) {
            Map<String, Tensor> named = new LinkedHashMap<>();
            named.put("a", Tensor.fromFloats(new float[] {1, 2}, 2));
            named.put("b", Tensor.fromFloats(new float[] {Float.POSITIVE_INFINITY}, 1));
            named.put("c", Tensor.fromBytes(new byte[] {1, 2}, 2));
            named.put("d", Tensor.fromDoubles(new double[] {0, Double.NaN}, 2));
            assertEquals(List.of("b", "d"), NonFinite.namesOfNonFinite(named));
            named.remove("b");
            named.remove("d");
            assertEquals(List.of(), NonFinite.namesOfNonFinite(named));
        }
    }

    @Test
    void aRecordOfTheWrongShapeIsRefusedByName() {
        try (TensorScope scope = TensorScope.open()) {
            Tensor three = Tensor.fromLongs(new long[] {0, 0, 0}, 3);
            TorchException e = assertThrows(TorchException.class, () -> Native.check(
                    dev.shakenet.torch.ffi.shakenet_h.sn_nonfinite_record(java.lang.foreign.MemorySegment.NULL, java.lang.foreign.MemorySegment.NULL, 0, 0,
                            three.handle())));
            assertTrue(e.getMessage().contains("record must be a contiguous int64 tensor of 2 elements"), e.getMessage());
        }
    }
}
