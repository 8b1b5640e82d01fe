package dev.shakenet.optim;

import static org.junit.jupiter.api.Assertions.*;

import dev.shakenet.torch.DType;
import dev.shakenet.torch.Tensor;
import dev.shakenet.torch.TensorScope;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Three steps of torch.optim.SGD's rule, computed by hand. The loss is sum(c * w), so the
 * gradient is c at every step (plus weight decay * w where decay is on).
 */
class SgdTest {
    /** Runs `steps` SGD steps from w0 with gradient c and returns w after each. */
    static double[][] run(double[] w0, double[] c, double lr, Sgd.Options options, int steps) {
        return run(w0, c, lr, options, steps, DType.FLOAT64, false);
    }

    /** {@link #run} with the parameter in {@code dtype}, by the multi-tensor update or ({@code onePass}) the CPU kernels' one. */
    static double[][] run(double[] w0, double[] c, double lr, Sgd.Options options, int steps, DType dtype, boolean onePass) {
        double[][] out = new double[steps][];
        Tensor w = Tensor.fromDoubles(w0, w0.length).to(dtype).requiresGrad(true);
        try (Sgd sgd = new Sgd(List.of(w), options, onePass)) {
            for (int i = 0; i < steps; i++) {
                try (TensorScope scope = TensorScope.open()) {
                    w.zeroGrad();
                    w.mul(Tensor.fromDoubles(c, c.length).to(dtype)).sum().backward();
                    sgd.step(lr);
                    out[i] = w.to(DType.FLOAT64).toDoubleArray();
                }
            }
        } finally {
            w.close();
        }
        return out;
    }

    @Test
    void plainSgd() {
        double[][] w = run(new double[] {1.0, -2.0}, new double[] {0.5, 1.0}, 0.1, new Sgd.Options(0, 0, 0, false), 3);
        assertArrayEquals(new double[] {0.95, -2.1}, w[0], 1e-15);
        assertArrayEquals(new double[] {0.90, -2.2}, w[1], 1e-15);
        assertArrayEquals(new double[] {0.85, -2.3}, w[2], 1e-15);
    }

    @Test
    void momentumStartsFromTheFirstGradient() {
        // buf: c, 1.9c, 2.71c; w -= 0.1 * buf
        double[][] w = run(new double[] {1.0, -2.0}, new double[] {0.5, 1.0}, 0.1, new Sgd.Options(0.9, 0, 0, false), 3);
        assertArrayEquals(new double[] {0.95, -2.1}, w[0], 1e-15);
        assertArrayEquals(new double[] {0.855, -2.29}, w[1], 1e-15);
        assertArrayEquals(new double[] {0.7195, -2.561}, w[2], 1e-15);
    }

    @Test
    void dampeningSkipsTheFirstStep() {
        // buf: c (first step, undamped), 0.9c + 0.5c = 1.4c
        double[][] w = run(new double[] {1.0}, new double[] {0.5}, 0.1, new Sgd.Options(0.9, 0.5, 0, false), 2);
        assertEquals(0.95, w[0][0], 1e-15);
        assertEquals(0.95 - 0.1 * 1.4 * 0.5, w[1][0], 1e-15);
    }

    @Test
    void nesterovWithWeightDecay() {
        // lr 0.1, momentum 0.9, weight decay 0.1, c = 0.5, w0 = 1:
        // 1: d = 0.5 + 0.1*1 = 0.6, buf = 0.6, d = 0.6 + 0.9*0.6 = 1.14, w = 1 - 0.114 = 0.886
        // 2: d = 0.5 + 0.0886 = 0.5886, buf = 0.54 + 0.5886 = 1.1286, d = 0.5886 + 1.01574 = 1.60434, w = 0.725566
        // 3: d = 0.5725566, buf = 1.01574 + 0.5725566 = 1.5882966, d = 0.5725566 + 1.42946694 = 2.00202354, w = 0.525363646
        double[][] w = run(new double[] {1.0}, new double[] {0.5}, 0.1, new Sgd.Options(0.9, 0, 0.1, true), 3);
        assertEquals(0.886, w[0][0], 1e-14);
        assertEquals(0.725566, w[1][0], 1e-14);
        assertEquals(0.525363646, w[2][0], 1e-14);
    }

    @Test
    void parametersWithoutGradientsAreLeftAlone() {
        Tensor used = Tensor.fromDoubles(new double[] {1}, 1).requiresGrad(true);
        Tensor unused = Tensor.fromDoubles(new double[] {7}, 1).requiresGrad(true);
        try (Sgd sgd = new Sgd(List.of(used, unused), new Sgd.Options(0.9, 0, 0.1, true)); TensorScope scope = TensorScope.open()) {
            used.mul(2).sum().backward();
            sgd.step(0.1);
            assertArrayEquals(new double[] {7}, unused.toDoubleArray());
            assertNotEquals(1.0, used.toDoubleArray()[0]);
        } finally {
            used.close();
            unused.close();
        }
    }

    @Test
    void nesterovNeedsMomentum() {
        assertThrows(IllegalArgumentException.class, () -> new Sgd.Options(0, 0, 0, true));
    }

    /** Both updates where this build has the CPU kernels, else the multi-tensor one. */
    static boolean[] updates() {
        return dev.shakenet.torch.CpuKernels.available() ? new boolean[] {false, true} : new boolean[] {false};
    }

    @Test
    void float32ParametersTakeBothUpdatesWithTheSameRule() {
        for (boolean onePass : updates()) float32Rule(onePass);
    }

    private static void float32Rule(boolean onePass) {
        // The hand-computed cases above, in float32 (relative rounding ~6e-8 a step), over
        // 100000 elements so the one-pass update is split between threads.
        int n = 100_000;
        double[] ones = new double[n], halves = new double[n];
        java.util.Arrays.fill(ones, 1.0);
        java.util.Arrays.fill(halves, 0.5);
        double[][] nesterov = run(ones, halves, 0.1, new Sgd.Options(0.9, 0, 0.1, true), 3, DType.FLOAT32, onePass);
        double[][] momentum = run(ones, halves, 0.1, new Sgd.Options(0.9, 0, 0, false), 3, DType.FLOAT32, onePass);
        double[][] dampening = run(ones, halves, 0.1, new Sgd.Options(0.9, 0.5, 0, false), 2, DType.FLOAT32, onePass);
        double[][] plain = run(ones, halves, 0.1, new Sgd.Options(0, 0, 0, false), 2, DType.FLOAT32, onePass);
        double[] expectedNesterov = {0.886, 0.725566, 0.525363646};
        // momentum 0.9, c 0.5: buf 0.5, 0.95, 1.355; w 0.95, 0.855, 0.7195
        double[] expectedMomentum = {0.95, 0.855, 0.7195};
        for (int i = 0; i < n; i++) {
            for (int step = 0; step < 3; step++) {
                assertEquals(expectedNesterov[step], nesterov[step][i], 1e-6, "Nesterov with weight decay, step " + (step + 1) + ", element " + i);
                assertEquals(expectedMomentum[step], momentum[step][i], 1e-6, "momentum, step " + (step + 1) + ", element " + i);
            }
            assertEquals(0.95 - 0.1 * (0.9 * 0.5 + 0.5 * 0.5), dampening[1][i], 1e-6, "dampening, step 2, element " + i);
            assertEquals(0.9, plain[1][i], 1e-6, "plain SGD, step 2, element " + i);
        }
    }

    @Test
    void channelsLastFloat32ParametersUpdateElementByElement() {
        for (boolean onePass : updates()) channelsLast(onePass);
    }

    private static void channelsLast(boolean onePass) {
        // A conv weight kept channels_last: the one-pass update runs over its raw memory, so
        // each element must still meet its own gradient and buffer.
        long[] shape = {2, 3, 2, 2};
        java.util.Random rng = new java.util.Random(3);
        double[] w0 = new double[24], c = new double[24];
        for (int i = 0; i < 24; i++) {
            w0[i] = (float) rng.nextGaussian();
            c[i] = (float) rng.nextGaussian();
        }
        Sgd.Options options = new Sgd.Options(0.9, 0, 5e-4, true);
        double[][] expected = run(w0, c, 0.1, options, 3); // float64, the multi-tensor path
        Tensor w = Tensor.fromDoubles(w0, shape).to(dev.shakenet.torch.Device.CPU, DType.FLOAT32, dev.shakenet.torch.MemoryFormat.CHANNELS_LAST, false)
                .requiresGrad(true);
        assertTrue(w.isContiguous(dev.shakenet.torch.MemoryFormat.CHANNELS_LAST) && !w.isContiguous(dev.shakenet.torch.MemoryFormat.CONTIGUOUS));
        try (Sgd sgd = new Sgd(List.of(w), options, onePass)) {
            for (int step = 0; step < 3; step++) {
                try (TensorScope scope = TensorScope.open()) {
                    w.zeroGrad();
                    w.mul(Tensor.fromDoubles(c, shape).to(dev.shakenet.torch.Device.CPU, DType.FLOAT32, dev.shakenet.torch.MemoryFormat.CHANNELS_LAST, false)).sum().backward();
                    assertTrue(w.grad().isContiguous(dev.shakenet.torch.MemoryFormat.CHANNELS_LAST), "the gradient is laid out as the weight");
                    sgd.step(0.1);
                    assertArrayEquals(expected[step], w.to(DType.FLOAT64).toDoubleArray(), 1e-6, "step " + (step + 1));
                }
            }
        } finally {
            w.close();
        }
    }
}
