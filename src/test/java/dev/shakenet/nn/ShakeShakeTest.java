package dev.shakenet.nn;

import static org.junit.jupiter.api.Assertions.*;

import dev.shakenet.torch.DType;
import dev.shakenet.torch.Device;
import dev.shakenet.torch.Generator;
import dev.shakenet.torch.ShakeShake;
import dev.shakenet.torch.ShakeShake.Level;
import dev.shakenet.torch.ShakeShake.Mode;
import dev.shakenet.torch.Tensor;
import dev.shakenet.torch.TensorScope;
import dev.shakenet.torch.TorchException;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The shim's shake-shake autograd function (ShakeShake.apply) against hand-computed values and
 * float64 finite differences, and the coefficients the model gives it (ShakeCoefficients) for
 * every mode and level of PAPER.md, read back from the results: alpha = (out - b) / (a - b) per
 * element, beta = grad_a / g.
 */
class ShakeShakeTest {
    static final int N = 8, C = 2, H = 3, W = 3, PER_IMAGE = C * H * W;

    static Stream<Arguments> allModes() {
        Stream.Builder<Arguments> s = Stream.builder();
        for (Mode f : new Mode[] {Mode.SHAKE, Mode.EVEN})
            for (Mode b : Mode.values())
                for (Level l : Level.values()) s.add(Arguments.of(f, b, l));
        return s.build();
    }

    /** What one training-mode call produced, as per-element coefficients. */
    record Result(double[] alpha, double[] beta, double[] gradA, double[] gradB, double[] g) {}

    static Result run(Shake shake, long seed, double[] a, double[] b, double[] g) {
        try (TensorScope scope = TensorScope.open(); Generator gen = Generator.create(Device.CPU, seed)) {
            Tensor ta = Tensor.fromDoubles(a, N, C, H, W).requiresGrad(true);
            Tensor tb = Tensor.fromDoubles(b, N, C, H, W).requiresGrad(true);
            Tensor out;
            try (ShakeCoefficients.Pair c = ShakeCoefficients.drawn(shake, gen).next(ta)) {
                out = ShakeShake.apply(ta, tb, c.alpha(), c.beta());
            }
            out.backward(Tensor.fromDoubles(g, N, C, H, W));
            double[] o = out.toDoubleArray(), ga = ta.grad().toDoubleArray(), gb = tb.grad().toDoubleArray();
            double[] alpha = new double[o.length], beta = new double[o.length];
            for (int i = 0; i < o.length; i++) {
                alpha[i] = (o[i] - b[i]) / (a[i] - b[i]);
                beta[i] = ga[i] / g[i];
            }
            return new Result(alpha, beta, ga, gb, g);
        }
    }

    /** Checks a coefficient is constant over each image (and over the batch for batch level); returns one per image. */
    static double[] perImage(double[] coefficient, Level level, String what) {
        double[] values = new double[N];
        for (int n = 0; n < N; n++) {
            values[n] = coefficient[n * PER_IMAGE];
            for (int i = 0; i < PER_IMAGE; i++) {
                assertEquals(values[n], coefficient[n * PER_IMAGE + i], 1e-9, what + " varies inside image " + n);
            }
            assertTrue(values[n] >= 0 && values[n] <= 1, what + " " + values[n] + " outside [0,1]");
            if (level == Level.BATCH) assertEquals(values[0], values[n], 1e-9, what + " differs between images at batch level");
        }
        return values;
    }

    static boolean allEqual(double[] v, double x) {
        for (double d : v) if (Math.abs(d - x) > 1e-12) return false;
        return true;
    }

    static double[] random(Random rng, int n) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) v[i] = rng.nextGaussian();
        return v;
    }

    @ParameterizedTest(name = "forward {0}, backward {1}, level {2}")
    @MethodSource("allModes")
    void coefficientsFollowTheModes(Mode forward, Mode backward, Level level) {
        Random rng = new Random(7);
        double[] a = random(rng, N * PER_IMAGE), b = random(rng, N * PER_IMAGE), g = random(rng, N * PER_IMAGE);
        for (int i = 0; i < a.length; i++) if (Math.abs(a[i] - b[i]) < 0.05) a[i] = b[i] + 0.5; // alpha is well conditioned
        Result r = run(new Shake(forward, backward, level), 42, a, b, g);

        double[] alpha = perImage(r.alpha, level, "alpha");
        double[] beta = perImage(r.beta, level, "beta");

        if (forward == Mode.EVEN) assertTrue(allEqual(alpha, 0.5), "even forward: alpha = 0.5");
        else assertFalse(allEqual(alpha, 0.5), "shake forward draws alpha");
        switch (backward) {
            case EVEN -> assertTrue(allEqual(beta, 0.5), "even backward: beta = 0.5");
            case KEEP -> assertArrayEquals(alpha, beta, 1e-9, "keep: beta = alpha");
            case SHAKE -> {
                assertFalse(allEqual(beta, 0.5), "shake backward draws beta");
                boolean independent = false;
                for (int n = 0; n < N; n++) independent |= Math.abs(alpha[n] - beta[n]) > 1e-6;
                assertTrue(independent, "shake backward draws beta afresh, not alpha");
            }
        }
        if (level == Level.IMAGE && forward == Mode.SHAKE) {
            boolean differ = false;
            for (int n = 1; n < N; n++) differ |= Math.abs(alpha[n] - alpha[0]) > 1e-6;
            assertTrue(differ, "image level draws one alpha per image");
        }
        for (int i = 0; i < r.g.length; i++) {
            assertEquals(r.g[i], r.gradA[i] + r.gradB[i], 1e-12, "grad_a + grad_b = grad_out at " + i);
            assertEquals((1 - r.beta[i]) * r.g[i], r.gradB[i], 1e-12, "grad_b = (1-beta) g at " + i);
        }
    }

    /** Two images, given coefficients: every output and gradient element computed by hand. */
    @Test
    void givenCoefficientsCombineAndSplitAsThePaperSays() {
        try (TensorScope scope = TensorScope.open()) {
            Tensor a = Tensor.fromDoubles(new double[] {1, 2, 3, 4}, 2, 2).requiresGrad(true);
            Tensor b = Tensor.fromDoubles(new double[] {10, 20, 30, 40}, 2, 2).requiresGrad(true);
            Tensor alpha = Tensor.fromDoubles(new double[] {0.25, 0.9}, 2, 1);
            Tensor beta = Tensor.fromDoubles(new double[] {0.6, 0.1}, 2, 1);
            Tensor out = ShakeShake.apply(a, b, alpha, beta);
            // image 0: 0.25*a + 0.75*b; image 1: 0.9*a + 0.1*b
            assertArrayEquals(new double[] {7.75, 15.5, 5.7, 7.6}, out.toDoubleArray(), 1e-12);
            out.backward(Tensor.fromDoubles(new double[] {1, -2, 3, 0.5}, 2, 2));
            assertArrayEquals(new double[] {0.6, -1.2, 0.3, 0.05}, a.grad().toDoubleArray(), 1e-12);
            assertArrayEquals(new double[] {0.4, -0.8, 2.7, 0.45}, b.grad().toDoubleArray(), 1e-12);
            assertFalse(alpha.requiresGrad(), "coefficients take no gradient");
        }
    }

    /** With beta = alpha the function is differentiable, and its backward is the central finite difference. */
    @Test
    void withBetaEqualToAlphaTheBackwardIsTheDerivative() {
        Random rng = new Random(5);
        double[] a = random(rng, N * PER_IMAGE), b = random(rng, N * PER_IMAGE), weights = random(rng, N * PER_IMAGE);
        double[] alpha = new double[N];
        for (int n = 0; n < N; n++) alpha[n] = rng.nextDouble();
        try (TensorScope scope = TensorScope.open()) {
            Tensor c = Tensor.fromDoubles(alpha, N, 1, 1, 1);
            Tensor ta = Tensor.fromDoubles(a, N, C, H, W).requiresGrad(true);
            Tensor tb = Tensor.fromDoubles(b, N, C, H, W).requiresGrad(true);
            Tensor w = Tensor.fromDoubles(weights, N, C, H, W);
            ShakeShake.apply(ta, tb, c, c).mul(w).sum().backward();
            double[] ga = ta.grad().toDoubleArray(), gb = tb.grad().toDoubleArray();
            double eps = 1e-6;
            for (int i : new int[] {0, 17, 40, N * PER_IMAGE - 1}) {
                for (int which = 0; which < 2; which++) {
                    double[] plus = (which == 0 ? a : b).clone(), minus = plus.clone();
                    plus[i] += eps;
                    minus[i] -= eps;
                    double up = weightedSum(which == 0 ? plus : a, which == 0 ? b : plus, c, w);
                    double down = weightedSum(which == 0 ? minus : a, which == 0 ? b : minus, c, w);
                    assertEquals((up - down) / (2 * eps), (which == 0 ? ga : gb)[i], 1e-8, (which == 0 ? "a" : "b") + "[" + i + "]");
                }
            }
        }
    }

    private static double weightedSum(double[] a, double[] b, Tensor alpha, Tensor w) {
        try (TensorScope scope = TensorScope.open()) {
            return ShakeShake.apply(Tensor.fromDoubles(a, N, C, H, W), Tensor.fromDoubles(b, N, C, H, W), alpha, alpha).mul(w).sum().item();
        }
    }

    @Test
    void evaluationCoefficientsGiveTheMeanOfTheBranches() {
        try (TensorScope scope = TensorScope.open()) {
            Random rng = new Random(3);
            double[] a = random(rng, N * PER_IMAGE), b = random(rng, N * PER_IMAGE);
            Tensor ta = Tensor.fromDoubles(a, N, C, H, W);
            double[] o;
            try (ShakeCoefficients.Pair even = ShakeCoefficients.even(ta)) {
                o = ShakeShake.apply(ta, Tensor.fromDoubles(b, N, C, H, W), even.alpha(), even.beta()).toDoubleArray();
            }
            for (int i = 0; i < o.length; i++) assertEquals(0.5 * (a[i] + b[i]), o[i], 1e-15);
        }
    }

    @Test
    void sameSeedSameDrawsOtherSeedOtherDraws() {
        Random rng = new Random(11);
        double[] a = random(rng, N * PER_IMAGE), b = random(rng, N * PER_IMAGE), g = random(rng, N * PER_IMAGE);
        Shake shake = new Shake(Mode.SHAKE, Mode.SHAKE, Level.IMAGE);
        Result first = run(shake, 5, a, b, g), again = run(shake, 5, a, b, g), other = run(shake, 6, a, b, g);
        assertArrayEquals(first.alpha, again.alpha, 0.0);
        assertArrayEquals(first.beta, again.beta, 0.0);
        assertFalse(java.util.Arrays.equals(first.alpha, other.alpha));
    }

    @Test
    void forwardDrawsAreUniformOnAverage() {
        // 8 images x 200 calls of U(0,1): the mean of 1600 draws is 0.5 +- 0.0072 (1 sd).
        try (TensorScope scope = TensorScope.open(); Generator gen = Generator.create(Device.CPU, 1)) {
            ShakeCoefficients drawn = ShakeCoefficients.drawn(new Shake(Mode.SHAKE, Mode.SHAKE, Level.IMAGE), gen);
            Tensor like = Tensor.zeros(DType.FLOAT32, Device.CPU, N, 1, 1, 1);
            double sum = 0, min = 1, max = 0;
            for (int call = 0; call < 200; call++) {
                try (ShakeCoefficients.Pair c = drawn.next(like)) {
                    for (double alpha : c.alpha().to(DType.FLOAT64).toDoubleArray()) {
                        sum += alpha;
                        min = Math.min(min, alpha);
                        max = Math.max(max, alpha);
                    }
                }
            }
            assertEquals(0.5, sum / (200 * N), 0.03);
            assertTrue(min < 0.01 && max > 0.99, "draws cover [0,1]: " + min + ".." + max);
        }
    }

    @Test
    void badArgumentsRaiseWithTheNativeMessage() {
        try (TensorScope scope = TensorScope.open()) {
            Tensor a = Tensor.zeros(DType.FLOAT32, Device.CPU, 2, 3), b = Tensor.zeros(DType.FLOAT32, Device.CPU, 2, 4);
            Tensor half = Tensor.full(0.5, DType.FLOAT32, Device.CPU, 1);
            TorchException shape = assertThrows(TorchException.class, () -> ShakeShake.apply(a, b, half, half));
            assertTrue(shape.getMessage().contains("differ in shape"), shape.getMessage());
            Tensor three = Tensor.full(0.5, DType.FLOAT32, Device.CPU, 3, 1);
            TorchException count = assertThrows(TorchException.class, () -> ShakeShake.apply(a, a, three, half));
            assertTrue(count.getMessage().contains("alpha must hold one coefficient per image"), count.getMessage());
            IllegalArgumentException keep = assertThrows(IllegalArgumentException.class, () -> new Shake(Mode.KEEP, Mode.SHAKE, Level.BATCH));
            assertTrue(keep.getMessage().contains("keep is a backward mode only"), keep.getMessage());
        }
    }
}
