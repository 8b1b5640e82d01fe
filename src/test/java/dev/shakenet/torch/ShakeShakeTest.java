package dev.shakenet.torch;

import static dev.shakenet.torch.Reference.random;
import static org.junit.jupiter.api.Assertions.*;

import dev.shakenet.torch.ShakeShake.Level;
import dev.shakenet.torch.ShakeShake.Mode;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import java.util.stream.Stream;

/**
 * The shake-shake combination for every mode and level (PAPER.md). The coefficients are read
 * back from the results: alpha = (out - b) / (a - b) for each element, and beta = grad_a / g.
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

    static Result run(Mode forward, Mode backward, Level level, long seed, double[] a, double[] b, double[] g) {
        try (TensorScope scope = TensorScope.open(); Generator gen = Generator.create(Device.CPU, seed)) {
            Tensor ta = Tensor.fromDoubles(a, N, C, H, W).requiresGrad(true);
            Tensor tb = Tensor.fromDoubles(b, N, C, H, W).requiresGrad(true);
            Tensor out = ShakeShake.combine(ta, tb, forward, backward, level, true, gen);
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

    @ParameterizedTest(name = "forward {0}, backward {1}, level {2}")
    @MethodSource("allModes")
    void coefficientsFollowTheModes(Mode forward, Mode backward, Level level) {
        Random rng = new Random(7);
        double[] a = random(rng, N * PER_IMAGE), b = random(rng, N * PER_IMAGE), g = random(rng, N * PER_IMAGE);
        for (int i = 0; i < a.length; i++) if (Math.abs(a[i] - b[i]) < 0.05) a[i] = b[i] + 0.5; // alpha is well conditioned
        Result r = run(forward, backward, level, 42, a, b, g);

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

    @Test
    void evalReturnsTheMeanOfTheBranches() {
        try (TensorScope scope = TensorScope.open()) {
            Random rng = new Random(3);
            double[] a = random(rng, N * PER_IMAGE), b = random(rng, N * PER_IMAGE);
            Tensor out = ShakeShake.combine(Tensor.fromDoubles(a, N, C, H, W), Tensor.fromDoubles(b, N, C, H, W),
                    Mode.SHAKE, Mode.SHAKE, Level.IMAGE, false, null);
            double[] o = out.toDoubleArray();
            for (int i = 0; i < o.length; i++) assertEquals(0.5 * (a[i] + b[i]), o[i], 1e-15);
        }
    }

    @Test
    void sameSeedSameDrawsOtherSeedOtherDraws() {
        Random rng = new Random(11);
        double[] a = random(rng, N * PER_IMAGE), b = random(rng, N * PER_IMAGE), g = random(rng, N * PER_IMAGE);
        Result first = run(Mode.SHAKE, Mode.SHAKE, Level.IMAGE, 5, a, b, g);
        Result again = run(Mode.SHAKE, Mode.SHAKE, Level.IMAGE, 5, a, b, g);
        Result other = run(Mode.SHAKE, Mode.SHAKE, Level.IMAGE, 6, a, b, g);
        assertArrayEquals(first.alpha, again.alpha, 0.0);
        assertArrayEquals(first.beta, again.beta, 0.0);
        assertFalse(java.util.Arrays.equals(first.alpha, other.alpha));
    }

    @Test
    void forwardDrawsAreUniformOnAverage() {
        // 8 images x 200 calls of U(0,1): the mean of 1600 draws is 0.5 +- 0.0072 (1 sd).
        try (TensorScope scope = TensorScope.open(); Generator gen = Generator.create(Device.CPU, 1)) {
            Tensor a = Tensor.ones(DType.FLOAT64, Device.CPU, N, 1, 1, 1), b = Tensor.zeros(DType.FLOAT64, Device.CPU, N, 1, 1, 1);
            double sum = 0, min = 1, max = 0;
            for (int call = 0; call < 200; call++) {
                try (TensorScope inner = TensorScope.open()) {
                    for (double alpha : ShakeShake.combine(a, b, Mode.SHAKE, Mode.SHAKE, Level.IMAGE, true, gen).toDoubleArray()) {
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
            TorchException shape = assertThrows(TorchException.class,
                    () -> ShakeShake.combine(a, b, Mode.SHAKE, Mode.SHAKE, Level.BATCH, true, null));
            assertTrue(shape.getMessage().contains("differ in shape"), shape.getMessage());
            TorchException keep = assertThrows(TorchException.class,
                    () -> ShakeShake.combine(a, a, Mode.KEEP, Mode.SHAKE, Level.BATCH, true, null));
            assertTrue(keep.getMessage().contains("forward mode 2"), keep.getMessage());
        }
    }
}
