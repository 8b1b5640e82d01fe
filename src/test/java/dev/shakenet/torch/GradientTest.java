package dev.shakenet.torch;

import static dev.shakenet.torch.Reference.random;
import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/**
 * libtorch's gradients (through the shim) against float64 central finite differences of the
 * same ops' forward, whose values {@link OpsForwardTest} checks against independent loops.
 */
class GradientTest {
    private static final double EPS = 1e-6;
    private static final double TOL = 1e-6;
    private final Random rng = new Random(99);

    /** An input of the checked function: values, shape, and whether to check its gradient. */
    record Input(double[] values, long[] shape) {}

    /**
     * Checks d(sum(f(inputs) * r))/d(input) for every element of every input, r a fixed random
     * tensor, so each output element's gradient path is exercised with a distinct weight.
     */
    private void check(String what, List<Input> inputs, Function<List<Tensor>, Tensor> f) {
        try (TensorScope scope = TensorScope.open()) {
            List<Tensor> leaves = new ArrayList<>();
            for (Input in : inputs) leaves.add(Tensor.fromDoubles(in.values, in.shape).requiresGrad(true));
            Tensor out = f.apply(leaves);
            double[] r = random(rng, (int) out.numel());
            Tensor weights = Tensor.fromDoubles(r, out.shape());
            out.mul(weights).sum().backward();
            for (int i = 0; i < inputs.size(); i++) {
                Tensor grad = leaves.get(i).grad();
                assertNotNull(grad, what + ": input " + i + " got no gradient");
                double[] analytic = grad.toDoubleArray();
                double[] values = inputs.get(i).values.clone();
                for (int j = 0; j < values.length; j++) {
                    double saved = values[j];
                    values[j] = saved + EPS;
                    double plus = weightedSum(inputs, i, values, f, r);
                    values[j] = saved - EPS;
                    double minus = weightedSum(inputs, i, values, f, r);
                    values[j] = saved;
                    double numeric = (plus - minus) / (2 * EPS);
                    assertEquals(numeric, analytic[j], TOL * (1 + Math.abs(numeric)),
                            what + ": d/d input " + i + " element " + j);
                }
            }
        }
    }

    private static double weightedSum(List<Input> inputs, int replaced, double[] values, Function<List<Tensor>, Tensor> f, double[] r) {
        try (TensorScope scope = TensorScope.open(); var noGrad = Torch.noGrad()) {
            List<Tensor> args = new ArrayList<>();
            for (int i = 0; i < inputs.size(); i++) {
                args.add(Tensor.fromDoubles(i == replaced ? values : inputs.get(i).values, inputs.get(i).shape));
            }
            Tensor out = f.apply(args);
            return out.mul(Tensor.fromDoubles(r, out.shape())).sum().item();
        }
    }

    private Input input(long... shape) {
        long n = 1;
        for (long s : shape) n *= s;
        return new Input(random(rng, (int) n), shape);
    }

    @Test
    void conv2dGradientsOfInputWeightAndBias() {
        check("conv2d stride 2 pad 1", List.of(input(2, 2, 5, 5), input(3, 2, 3, 3), input(3)),
                t -> Functional.conv2d(t.get(0), t.get(1), t.get(2), 2, 1));
        check("conv2d 1x1", List.of(input(1, 3, 4, 4), input(2, 3, 1, 1)),
                t -> Functional.conv2d(t.get(0), t.get(1), null, 1, 0));
    }

    @Test
    void batchNormTrainingGradientsOfInputGammaAndBeta() {
        // Batch statistics make every output depend on every input of its channel.
        check("batch_norm", List.of(input(3, 2, 2, 2), input(2), input(2)),
                t -> Functional.batchNorm(t.get(0), t.get(1), t.get(2), null, null, true, 0.1, 1e-5));
    }

    @Test
    void linearGradients() {
        check("linear", List.of(input(3, 4), input(5, 4), input(5)), t -> Functional.linear(t.get(0), t.get(1), t.get(2)));
    }

    @Test
    void crossEntropyGradientOfLogits() {
        Tensor targets = Tensor.fromLongs(new long[] {2, 0, 4}, 3);
        try {
            check("cross_entropy", List.of(input(3, 5)), t -> Functional.crossEntropy(t.get(0), targets));
        } finally {
            targets.close();
        }
    }

    @Test
    void shortcutOpsGradients() {
        check("global_avg_pool2d", List.of(input(2, 2, 3, 3)), t -> Functional.globalAvgPool2d(t.get(0)));
        check("cat", List.of(input(1, 2, 2, 2), input(1, 3, 2, 2)), t -> Functional.cat(t, 1));
        check("shortcut_samples stride 2", List.of(input(2, 2, 4, 4)), t -> Functional.shortcutSamples(t.get(0), 2));
        check("shortcut_samples stride 2, odd sides", List.of(input(1, 2, 5, 3)), t -> Functional.shortcutSamples(t.get(0), 2));
        check("shortcut_samples stride 1", List.of(input(1, 2, 3, 4)), t -> Functional.shortcutSamples(t.get(0), 1));
        check("shortcut_samples stride 3", List.of(input(1, 1, 7, 5)), t -> Functional.shortcutSamples(t.get(0), 3));
    }

    @Test
    void reluGradientAwayFromZero() {
        Input x = input(10);
        for (int i = 0; i < x.values().length; i++) if (Math.abs(x.values()[i]) < 0.01) x.values()[i] = 0.5; // kink
        check("relu", List.of(x), t -> t.get(0).relu());
    }

    @Test
    void gradientsAccumulateAndZeroGradDropsThem() {
        try (TensorScope scope = TensorScope.open()) {
            Tensor w = Tensor.fromDoubles(new double[] {1, 2, 3}, 3).requiresGrad(true);
            assertTrue(w.requiresGrad());
            assertNull(w.grad());
            w.mul(2).sum().backward();
            w.mul(3).sum().backward();
            assertArrayEquals(new double[] {5, 5, 5}, w.grad().toDoubleArray(), "gradients accumulate");
            w.zeroGrad();
            assertNull(w.grad());
            try (var noGrad = Torch.noGrad()) {
                assertFalse(Torch.isGradEnabled());
                assertFalse(w.mul(2).requiresGrad(), "no graph is recorded under noGrad");
            }
            assertTrue(Torch.isGradEnabled(), "noGrad restores the previous mode");
        }
    }

    @Test
    void shortcutSamplesGradientFallsOnTheSampledPixelsInTheSameLayout() {
        // d/dx sum(samples(x) * g) at stride 2 on even sides: g's first half on the (even, even)
        // pixels, its second half on the (odd, odd) ones, zero elsewhere.
        int n = 2, c = 3, h = 4, w = 6;
        double[] g = random(rng, n * 2 * c * (h / 2) * (w / 2));
        try (TensorScope scope = TensorScope.open()) {
            Tensor x = Tensor.zeros(DType.FLOAT32, Device.CPU, n, c, h, w).to(MemoryFormat.CHANNELS_LAST).requiresGrad(true);
            Tensor gy = Tensor.fromDoubles(g, n, 2 * c, h / 2, w / 2).to(DType.FLOAT32).to(MemoryFormat.CHANNELS_LAST);
            Functional.shortcutSamples(x, 2).backward(gy);
            assertChannelsLastGradient(x.grad(), n, c, h, w, (b, ch, i, j) -> {
                int half = i % 2 == 0 && j % 2 == 0 ? 0 : i % 2 == 1 && j % 2 == 1 ? 1 : -1;
                return half < 0 ? 0 : g[((b * 2 * c + half * c + ch) * (h / 2) + i / 2) * (w / 2) + j / 2];
            });
        }
    }

    interface PixelValue {
        double at(int image, int channel, int row, int column);
    }

    /** grad (n,c,h,w) is channels_last and holds expected's value at every pixel, within float32 rounding. */
    static void assertChannelsLastGradient(Tensor grad, int n, int c, int h, int w, PixelValue expected) {
        assertTrue(grad.isContiguous(MemoryFormat.CHANNELS_LAST), "the gradient keeps channels_last");
        float[] actual = grad.toFloatArray();
        for (int b = 0; b < n; b++)
            for (int ch = 0; ch < c; ch++)
                for (int i = 0; i < h; i++)
                    for (int j = 0; j < w; j++) {
                        assertEquals(expected.at(b, ch, i, j), actual[((b * c + ch) * h + i) * w + j], 1e-6,
                                "at " + b + "," + ch + "," + i + "," + j);
                    }
    }
}
