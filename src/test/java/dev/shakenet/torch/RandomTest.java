package dev.shakenet.torch;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Random tensors: their distributions (by sample moments) and reproducibility from a seed. */
class RandomTest {
    private static final int COUNT = 200_000;
    private TensorScope scope;

    @BeforeEach
    void open() {
        scope = TensorScope.open();
    }

    @AfterEach
    void close() {
        scope.close();
    }

    private static double[] moments(double[] v) {
        double mean = 0, var = 0;
        for (double x : v) mean += x;
        mean /= v.length;
        for (double x : v) var += (x - mean) * (x - mean);
        return new double[] {mean, var / (v.length - 1)};
    }

    @Test
    void normalHasItsMeanAndStd() {
        try (Generator gen = Generator.create(Device.CPU, 17)) {
            double[] v = Tensor.randn(3.0, 2.0, DType.FLOAT64, Device.CPU, gen, COUNT).toDoubleArray();
            double[] m = moments(v);
            // Standard errors: mean 2/sqrt(n) = 0.0045, variance 4*sqrt(2/n) = 0.0126; allow 5 of them.
            assertEquals(3.0, m[0], 0.023);
            assertEquals(4.0, m[1], 0.064);
        }
    }

    @Test
    void uniformStaysInRangeWithItsMeanAndVariance() {
        try (Generator gen = Generator.create(Device.CPU, 17)) {
            double[] v = Tensor.uniform(-1.0, 3.0, DType.FLOAT64, Device.CPU, gen, COUNT).toDoubleArray();
            for (double x : v) assertTrue(x >= -1.0 && x < 3.0, "uniform draw " + x + " outside [-1, 3)");
            double[] m = moments(v);
            assertEquals(1.0, m[0], 0.015);          // se = 4/sqrt(12 n) = 0.0026
            assertEquals(16.0 / 12, m[1], 0.02);     // (b-a)^2/12
        }
    }

    @Test
    void sameSeedGivesSameDrawsAndStateRestoresThem() {
        float[] first, second, other;
        try (Generator a = Generator.create(Device.CPU, 123); Generator b = Generator.create(Device.CPU, 123);
             Generator c = Generator.create(Device.CPU, 124)) {
            first = Tensor.randn(0, 1, DType.FLOAT32, Device.CPU, a, 100).toFloatArray();
            second = Tensor.randn(0, 1, DType.FLOAT32, Device.CPU, b, 100).toFloatArray();
            other = Tensor.randn(0, 1, DType.FLOAT32, Device.CPU, c, 100).toFloatArray();
            assertArrayEquals(first, second);
            assertFalse(java.util.Arrays.equals(first, other));

            Tensor state = a.state();
            float[] next = Tensor.uniform(0, 1, DType.FLOAT32, Device.CPU, a, 50).toFloatArray();
            a.setState(state);
            assertArrayEquals(next, Tensor.uniform(0, 1, DType.FLOAT32, Device.CPU, a, 50).toFloatArray(), "restored state repeats draws");
        }
    }

    @Test
    void manualSeedMakesTheDefaultGeneratorRepeat() {
        Torch.manualSeed(2024);
        double[] first = Tensor.randn(0, 1, DType.FLOAT64, Device.CPU, null, 20).toDoubleArray();
        Torch.manualSeed(2024);
        assertArrayEquals(first, Tensor.randn(0, 1, DType.FLOAT64, Device.CPU, null, 20).toDoubleArray());
    }

    @Test
    void reducedPrecisionDrawsAreRounded() {
        try (Generator gen = Generator.create(Device.CPU, 5)) {
            Tensor bf = Tensor.randn(0, 1, DType.BFLOAT16, Device.CPU, gen, 1000);
            assertEquals(DType.BFLOAT16, bf.dtype());
            double[] m = moments(Reference.toDoubles(bf.to(DType.FLOAT32).toFloatArray()));
            assertEquals(0, m[0], 0.16);
            assertEquals(1, m[1], 0.3);
        }
    }

    @Test
    void badRangesAreRejected() {
        TorchException e = assertThrows(TorchException.class, () -> Tensor.uniform(2, 1, DType.FLOAT32, Device.CPU, null, 3));
        assertTrue(e.getMessage().contains("must not exceed"), e.getMessage());
        assertThrows(TorchException.class, () -> Tensor.randn(0, -1, DType.FLOAT32, Device.CPU, null, 3));
    }
}
