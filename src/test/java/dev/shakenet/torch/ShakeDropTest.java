package dev.shakenet.torch;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * ShakeDrop (Yamada et al., 2018): the shim's autograd function (ShakeDrop.apply) against
 * hand-computed values and float64 finite differences, evaluation's scale, the per-image draws
 * (ShakeDropCoefficients) and the survival schedule p_l = 1 - l/L (1 - p_L).
 */
class ShakeDropTest {
    static final int N = 4, C = 2, H = 3, W = 3, PER_IMAGE = C * H * W;

    static double[] random(Random rng, int n) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) v[i] = rng.nextGaussian();
        return v;
    }

    /**
     * Three images of two elements: image 0 kept (gate 1, so alpha and beta do not matter), images
     * 1 and 2 dropped (gate 0): scaled by alpha forward, by beta backward. Coefficients shaped
     * (N) and (N,1,1,1) alike.
     */
    @ParameterizedTest(name = "coefficients of rank {0}")
    @ValueSource(ints = {1, 4})
    void givenCoefficientsScaleEachImageAsThePaperSays(int rank) {
        try (TensorScope scope = TensorScope.open()) {
            long[] shape = rank == 1 ? new long[] {3} : new long[] {3, 1, 1, 1};
            Tensor f = Tensor.fromDoubles(new double[] {1, 2, 3, 4, 5, -6}, 3, 1, 1, 2).requiresGrad(true);
            Tensor gate = Tensor.fromDoubles(new double[] {1, 0, 0}, shape);
            Tensor alpha = Tensor.fromDoubles(new double[] {-0.5, -0.5, 0.75}, shape);
            Tensor beta = Tensor.fromDoubles(new double[] {0.25, 0.25, 0.5}, shape);
            Tensor out = ShakeDrop.apply(f, gate, alpha, beta);
            // image 0: f; image 1: -0.5 f; image 2: 0.75 f
            assertArrayEquals(new double[] {1, 2, -1.5, -2, 3.75, -4.5}, out.toDoubleArray(), 1e-15);
            assertArrayEquals(new long[] {3, 1, 1, 2}, out.shape());

            Tensor w = Tensor.fromDoubles(new double[] {1, -2, 3, 0.5, -1, 4}, 3, 1, 1, 2);
            out.mul(w).sum().backward();
            // d/df sum(out*w) = w, 0.25 w, 0.5 w per image: beta, not alpha
            assertArrayEquals(new double[] {1, -2, 0.75, 0.125, -0.5, 2}, f.grad().toDoubleArray(), 1e-15);
            assertFalse(gate.requiresGrad() || alpha.requiresGrad() || beta.requiresGrad(), "coefficients take no gradient");
        }
    }

    /** A gate between 0 and 1 is outside the paper, but the formula b + c - bc still holds. */
    @Test
    void theFormulaIsLinearInTheGate() {
        try (TensorScope scope = TensorScope.open()) {
            Tensor f = Tensor.fromDoubles(new double[] {8, -4}, 2, 1).requiresGrad(true);
            Tensor gate = Tensor.fromDoubles(new double[] {0.5, 0.25}, 2);
            Tensor alpha = Tensor.fromDoubles(new double[] {-1, 0.5}, 2);
            Tensor beta = Tensor.fromDoubles(new double[] {0.5, 0}, 2);
            Tensor out = ShakeDrop.apply(f, gate, alpha, beta);
            // 0.5 - 1 + 0.5 = 0 and 0.25 + 0.5 - 0.125 = 0.625 forward; 0.5 + 0.5 - 0.25 = 0.75 and 0.25 backward
            assertArrayEquals(new double[] {0, -2.5}, out.toDoubleArray(), 1e-15);
            out.sum().backward();
            assertArrayEquals(new double[] {0.75, 0.25}, f.grad().toDoubleArray(), 1e-15);
        }
    }

    /**
     * For fixed coefficients the function is linear in f, so finite differences give the forward
     * coefficient (1 or alpha). The backward uses beta instead: equal to the finite difference on
     * kept images, beta/alpha times it on dropped ones, and equal everywhere once beta = alpha.
     */
    @Test
    void theBackwardIsTheDerivativeOnlyWhereBetaEqualsAlpha() {
        Random rng = new Random(21);
        double[] f = random(rng, N * PER_IMAGE), w = random(rng, N * PER_IMAGE);
        double[] gate = {1, 0, 1, 0}, alpha = {0.3, -0.7, 0.9, -0.2}, beta = {0.6, 0.1, 0.4, 0.8};

        double[] numeric = finiteDifferences(f, w, gate, alpha);
        double[] shaken = analyticGradient(f, w, gate, alpha, beta);
        double[] smooth = analyticGradient(f, w, gate, alpha, alpha);
        for (int i = 0; i < f.length; i++) {
            int n = i / PER_IMAGE;
            double forwardScale = gate[n] == 1 ? 1 : alpha[n], backwardScale = gate[n] == 1 ? 1 : beta[n];
            assertEquals(forwardScale * w[i], numeric[i], 1e-8, "finite difference = forward coefficient * w at " + i);
            assertEquals(backwardScale * w[i], shaken[i], 1e-15, "backward = beta-coefficient * w at " + i);
            if (gate[n] == 1) assertEquals(numeric[i], shaken[i], 1e-8, "kept image " + n + ": backward is the derivative");
            else assertEquals(beta[n] / alpha[n] * numeric[i], shaken[i], 1e-8, "dropped image " + n + ": backward is beta/alpha times the derivative");
            assertEquals(numeric[i], smooth[i], 1e-8, "beta = alpha: backward is the derivative at " + i);
        }
        assertNotEquals(numeric[PER_IMAGE], shaken[PER_IMAGE], 1e-3, "the dropped image's backward is not the derivative");
    }

    private static double[] analyticGradient(double[] f, double[] w, double[] gate, double[] alpha, double[] beta) {
        try (TensorScope scope = TensorScope.open()) {
            Tensor tf = Tensor.fromDoubles(f, N, C, H, W).requiresGrad(true);
            ShakeDrop.apply(tf, perImage(gate), perImage(alpha), perImage(beta)).mul(Tensor.fromDoubles(w, N, C, H, W)).sum().backward();
            return tf.grad().toDoubleArray();
        }
    }

    /** Central differences of sum(ShakeDrop(f) * w) for every element of f. */
    private static double[] finiteDifferences(double[] f, double[] w, double[] gate, double[] alpha) {
        double eps = 1e-6;
        double[] numeric = new double[f.length], x = f.clone();
        try (TensorScope scope = TensorScope.open(); var noGrad = Torch.noGrad()) {
            Tensor tg = perImage(gate), ta = perImage(alpha), tw = Tensor.fromDoubles(w, N, C, H, W);
            for (int i = 0; i < f.length; i++) {
                x[i] = f[i] + eps;
                double up = ShakeDrop.apply(Tensor.fromDoubles(x, N, C, H, W), tg, ta, ta).mul(tw).sum().item();
                x[i] = f[i] - eps;
                double down = ShakeDrop.apply(Tensor.fromDoubles(x, N, C, H, W), tg, ta, ta).mul(tw).sum().item();
                x[i] = f[i];
                numeric[i] = (up - down) / (2 * eps);
            }
        }
        return numeric;
    }

    private static Tensor perImage(double[] values) {
        return Tensor.fromDoubles(values, values.length, 1, 1, 1);
    }

    @Test
    void evaluationScalesBySurvival() {
        try (TensorScope scope = TensorScope.open()) {
            Tensor f = Tensor.fromDoubles(new double[] {2, -4, 0.5}, 3, 1);
            assertArrayEquals(new double[] {1.5, -3, 0.375}, ShakeDrop.evaluate(f, 0.75).toDoubleArray(), 1e-15);
        }
    }

    /** Coefficients cast to f's dtype: float32 and bfloat16 branches come out in their own dtype. */
    @Test
    void computesInTheDtypeOfTheBranch() {
        try (TensorScope scope = TensorScope.open()) {
            Tensor gate = perImage(new double[] {0, 1}), alpha = perImage(new double[] {-0.5, 0.25}), beta = perImage(new double[] {0.25, 0.5});
            for (DType dtype : new DType[] {DType.FLOAT32, DType.BFLOAT16}) {
                Tensor f = Tensor.fromFloats(new float[] {4, -8, 3, 6}, 2, 1, 1, 2).to(dtype).requiresGrad(true);
                Tensor out = ShakeDrop.apply(f, gate, alpha, beta);
                assertEquals(dtype, out.dtype());
                assertArrayEquals(new double[] {-2, 4, 3, 6}, out.to(DType.FLOAT64).toDoubleArray(), 0.0, dtype + " forward");
                out.sum().backward();
                assertEquals(dtype, f.grad().dtype());
                assertArrayEquals(new double[] {0.25, 0.25, 1, 1}, f.grad().to(DType.FLOAT64).toDoubleArray(), 0.0, dtype + " backward");
            }
        }
    }

    /** Under CPU autocast a convolution's bfloat16 output stays bfloat16 through ShakeDrop, and gradients reach the float32 weight. */
    @Test
    void worksUnderAutocast() {
        try (TensorScope scope = TensorScope.open(); Generator gen = Generator.create(Device.CPU, 3)) {
            Tensor x = Tensor.randn(0, 1, DType.FLOAT32, Device.CPU, gen, N, C, H, W);
            Tensor w = Tensor.randn(0, 1, DType.FLOAT32, Device.CPU, gen, C, C, 3, 3).requiresGrad(true);
            Tensor gate = perImage(new double[] {1, 0, 1, 0}), alpha = perImage(new double[] {0.5, -0.5, 0.1, 0.75});
            Tensor low;
            try (Autocast amp = Autocast.enter(Device.CPU, DType.BFLOAT16)) {
                low = ShakeDrop.apply(Functional.conv2d(x, w, null, 1, 1), gate, alpha, alpha);
            }
            assertEquals(DType.BFLOAT16, low.dtype());
            float[] exact = ShakeDrop.apply(Functional.conv2d(x, w, null, 1, 1), gate, alpha, alpha).toFloatArray();
            float[] approx = low.to(DType.FLOAT32).toFloatArray();
            for (int i = 0; i < exact.length; i++) assertEquals(exact[i], approx[i], 0.05 * (1 + Math.abs(exact[i])), "element " + i);
            low.to(DType.FLOAT32).sum().backward();
            assertEquals(DType.FLOAT32, w.grad().dtype());
        }
    }

    // ---- the draws ---------------------------------------------------------------------------

    private static double[] values(Tensor t) {
        return t.to(DType.FLOAT64).toDoubleArray();
    }

    @Test
    void sameSeedSameDrawsOtherSeedOtherDraws() {
        double[][] first = drawn(5), again = drawn(5), other = drawn(6);
        for (int k = 0; k < 3; k++) assertArrayEquals(first[k], again[k], 0.0, "seed 5 twice, coefficient " + k);
        assertFalse(Arrays.equals(first[1], other[1]), "seeds 5 and 6 give other alphas");
        assertFalse(Arrays.equals(first[2], other[2]), "seeds 5 and 6 give other betas");
        assertFalse(Arrays.equals(first[1], first[2]), "alpha and beta are separate draws");
    }

    private static double[][] drawn(long seed) {
        try (TensorScope scope = TensorScope.open(); Generator gen = Generator.create(Device.CPU, seed);
                ShakeDropCoefficients c = ShakeDropCoefficients.draw(64, 0.5, DType.FLOAT32, Device.CPU, gen)) {
            assertArrayEquals(new long[] {64, 1, 1, 1}, c.gate().shape());
            return new double[][] {values(c.gate()), values(c.alpha()), values(c.beta())};
        }
    }

    /**
     * 100 calls of 100 images: gate is 0 or 1 and 1 for a fraction p_l (sd 0.0043 for p_l = 0.75),
     * alpha covers [-1,1) with mean 0 (sd 0.0058), beta [0,1) with mean 0.5 (sd 0.0029).
     */
    @Test
    void drawsFollowTheirDistributions() {
        double p = ShakeDrop.survival(1, 2, 0.5);
        int draws = 0, kept = 0;
        double alphaSum = 0, betaSum = 0, alphaMin = 1, alphaMax = -1, betaMin = 1, betaMax = 0;
        try (Generator gen = Generator.create(Device.CPU, 17)) {
            for (int call = 0; call < 100; call++) {
                try (TensorScope scope = TensorScope.open(); ShakeDropCoefficients c = ShakeDropCoefficients.draw(100, p, DType.FLOAT32, Device.CPU, gen)) {
                    double[] gate = values(c.gate()), alpha = values(c.alpha()), beta = values(c.beta());
                    for (int n = 0; n < gate.length; n++, draws++) {
                        assertTrue(gate[n] == 0 || gate[n] == 1, "gate " + gate[n] + " is neither 0 nor 1");
                        kept += (int) gate[n];
                        alphaSum += alpha[n];
                        betaSum += beta[n];
                        alphaMin = Math.min(alphaMin, alpha[n]);
                        alphaMax = Math.max(alphaMax, alpha[n]);
                        betaMin = Math.min(betaMin, beta[n]);
                        betaMax = Math.max(betaMax, beta[n]);
                    }
                }
            }
        }
        assertEquals(10_000, draws);
        assertEquals(0.75, (double) kept / draws, 0.02, "fraction of kept images");
        assertEquals(0, alphaSum / draws, 0.03, "mean alpha");
        assertEquals(0.5, betaSum / draws, 0.02, "mean beta");
        assertTrue(alphaMin >= -1 && alphaMin < -0.99 && alphaMax < 1 && alphaMax > 0.99, "alpha in [-1,1): " + alphaMin + ".." + alphaMax);
        assertTrue(betaMin >= 0 && betaMin < 0.01 && betaMax < 1 && betaMax > 0.99, "beta in [0,1): " + betaMin + ".." + betaMax);
    }

    /** Drawn coefficients fed to the function: out/f per image is 1 or alpha, grad/g is 1 or beta. */
    @Test
    void drawnCoefficientsDriveTheFunction() {
        Random rng = new Random(8);
        double[] f = random(rng, N * PER_IMAGE);
        try (TensorScope scope = TensorScope.open(); Generator gen = Generator.create(Device.CPU, 9);
                ShakeDropCoefficients c = ShakeDropCoefficients.draw(N, 0.5, DType.FLOAT64, Device.CPU, gen)) {
            Tensor tf = Tensor.fromDoubles(f, N, C, H, W).requiresGrad(true);
            Tensor out = ShakeDrop.apply(tf, c);
            out.sum().backward();
            double[] o = out.toDoubleArray(), g = tf.grad().toDoubleArray(), gate = values(c.gate()), alpha = values(c.alpha()), beta = values(c.beta());
            for (int i = 0; i < f.length; i++) {
                int n = i / PER_IMAGE;
                assertEquals((gate[n] == 1 ? 1 : alpha[n]) * f[i], o[i], 1e-15, "forward at " + i);
                assertEquals(gate[n] == 1 ? 1 : beta[n], g[i], 1e-15, "backward at " + i);
            }
        }
    }

    // ---- the schedule ------------------------------------------------------------------------

    @Test
    void survivalDecaysLinearlyFromOneToPL() {
        assertEquals(1.0, ShakeDrop.survival(0, 54, 0.5), 0.0, "l = 0: 1");
        assertEquals(1 - 1.0 / 108, ShakeDrop.survival(1, 54, 0.5), 1e-15, "first of 54 blocks");
        assertEquals(0.75, ShakeDrop.survival(27, 54, 0.5), 1e-15, "halfway");
        assertEquals(0.5, ShakeDrop.survival(54, 54, ShakeDrop.LAST_SURVIVAL), 0.0, "l = L: p_L");
        assertEquals(0.875, ShakeDrop.survival(1, 4, 0.5), 1e-15);
        assertEquals(0.4, ShakeDrop.survival(3, 4, 0.2), 1e-15, "1 - 3/4 * 0.8");
        IllegalArgumentException beyond = assertThrows(IllegalArgumentException.class, () -> ShakeDrop.survival(5, 4, 0.5));
        assertTrue(beyond.getMessage().contains("block 5 outside 0..4"), beyond.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ShakeDrop.survival(1, 0, 0.5));
        assertThrows(IllegalArgumentException.class, () -> ShakeDrop.survival(1, 4, 1.5));
    }

    // ---- bad arguments -----------------------------------------------------------------------

    private static void assertRefused(String expected, org.junit.jupiter.api.function.Executable call) {
        TorchException e = assertThrows(TorchException.class, call);
        assertTrue(e.getMessage().contains(expected), "expected \"" + expected + "\" in: " + e.getMessage());
    }

    @Test
    void badArgumentsRaiseWithTheNativeMessage() {
        try (TensorScope scope = TensorScope.open()) {
            Tensor f = Tensor.zeros(DType.FLOAT32, Device.CPU, 2, 3, 4, 4);
            Tensor two = Tensor.full(0.5, DType.FLOAT32, Device.CPU, 2, 1, 1, 1);
            Tensor three = Tensor.full(0.5, DType.FLOAT32, Device.CPU, 3, 1, 1, 1);
            Tensor perChannel = Tensor.full(0.5, DType.FLOAT32, Device.CPU, 2, 3, 1, 1);
            assertRefused("gate must hold one coefficient per image, shape (2) or (2,1,...) for f of shape [2, 3, 4, 4], got shape [3, 1, 1, 1]",
                    () -> ShakeDrop.apply(f, three, two, two));
            assertRefused("alpha must hold one coefficient per image", () -> ShakeDrop.apply(f, two, three, two));
            assertRefused("beta must hold one coefficient per image", () -> ShakeDrop.apply(f, two, two, perChannel));
            assertRefused("beta must hold one coefficient per image", () -> ShakeDrop.apply(f, two, two, Tensor.full(0.5, DType.FLOAT32, Device.CPU, 1)));
            Tensor longs = Tensor.fromLongs(new long[] {1, 0}, 2, 1, 1, 1);
            assertRefused("gate must be a floating-point tensor, got Long", () -> ShakeDrop.apply(f, longs, two, two));
            assertRefused("f must be a floating-point tensor, got Long",
                    () -> ShakeDrop.apply(Tensor.fromLongs(new long[] {1, 2}, 2, 1, 1, 1), two, two, two));
            assertRefused("f must have a batch dimension", () -> ShakeDrop.apply(Tensor.full(1, DType.FLOAT32, Device.CPU), two, two, two));
            assertRefused("p must lie in [0, 1], got 1.5", () -> ShakeDropCoefficients.draw(2, 1.5, DType.FLOAT32, Device.CPU, null));
        }
    }

    // ---- CUDA ----------------------------------------------------------------------------------

    @Test
    void onCudaAsOnTheCpuAndCoefficientsMustShareTheDevice() {
        Cuda.assumeAvailable();
        Device cuda = Device.cuda(0);
        try (TensorScope scope = TensorScope.open(); Generator gen = Generator.create(cuda, 4)) {
            Tensor f = Tensor.fromDoubles(new double[] {1, 2, 3, 4, 5, -6}, 3, 1, 1, 2).to(cuda).requiresGrad(true);
            Tensor gate = perImage(new double[] {1, 0, 0}).to(cuda);
            Tensor alpha = perImage(new double[] {-0.5, -0.5, 0.75}).to(cuda);
            Tensor beta = perImage(new double[] {0.25, 0.25, 0.5}).to(cuda);
            Tensor out = ShakeDrop.apply(f, gate, alpha, beta);
            assertEquals(cuda, out.device());
            assertArrayEquals(new double[] {1, 2, -1.5, -2, 3.75, -4.5}, out.toDoubleArray(), 1e-15);
            out.mul(Tensor.fromDoubles(new double[] {1, -2, 3, 0.5, -1, 4}, 3, 1, 1, 2).to(cuda)).sum().backward();
            assertArrayEquals(new double[] {1, -2, 0.75, 0.125, -0.5, 2}, f.grad().toDoubleArray(), 1e-15);

            assertRefused("gate is on cpu, f on cuda:0", () -> ShakeDrop.apply(f, perImage(new double[] {1, 0, 0}), alpha, beta));

            try (ShakeDropCoefficients c = ShakeDropCoefficients.draw(10_000, 0.75, DType.FLOAT32, cuda, gen)) {
                assertEquals(cuda, c.gate().device());
                assertEquals(0.75, c.gate().mean().item(), 0.02, "fraction of kept images on CUDA");
                Tensor bf16 = Tensor.ones(DType.BFLOAT16, cuda, 10_000, 2);
                assertEquals(DType.BFLOAT16, ShakeDrop.apply(bf16, c).dtype());
            }
        }
    }
}
