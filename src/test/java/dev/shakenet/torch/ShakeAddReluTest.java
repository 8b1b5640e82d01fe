package dev.shakenet.torch;

import static org.junit.jupiter.api.Assertions.*;

import dev.shakenet.torch.ShakeShake.BlockOutput;
import dev.shakenet.torch.ShakeShake.Level;
import dev.shakenet.torch.ShakeShake.Mode;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The fused end of a shake block: out = alpha*a + (1-alpha)*b + r and relu(out), and its
 * gradients beta*t, (1-beta)*t, t with t = grad(out) + grad(relu)*(out > 0), checked from their
 * definitions for every mode and level, on the CPU kernel (float32 in both layouts, bfloat16) and
 * on the ATen path (float64). The coefficients are read back from the results.
 */
class ShakeAddReluTest {
    static final int N = 6, C = 3, H = 4, W = 4, PER_IMAGE = C * H * W, SIZE = N * PER_IMAGE;

    private final Random rng = new Random(11);
    // a and b at least 0.5 apart, so alpha = (out - r - b) / (a - b) reads back well in float32.
    private final double[] a = new double[SIZE], b = new double[SIZE], r = new double[SIZE], g1 = new double[SIZE], g2 = new double[SIZE];

    ShakeAddReluTest() {
        for (int i = 0; i < SIZE; i++) {
            a[i] = rng.nextGaussian();
            b[i] = a[i] + (rng.nextBoolean() ? 1 : -1) * (0.5 + rng.nextDouble());
            r[i] = rng.nextGaussian();
            g1[i] = rng.nextGaussian();
            g2[i] = rng.nextGaussian();
        }
    }

    /** Outputs and gradients of sum(out*g1) + sum(relu*g2), as doubles in NCHW order. */
    record Result(double[] out, double[] relu, double[] gradA, double[] gradB, double[] gradR) {}

    Result run(Mode forward, Mode backward, Level level, DType dtype, MemoryFormat format, boolean withResidual, boolean useOut) {
        long[] shape = {N, C, H, W};
        try (TensorScope scope = TensorScope.open(); Generator gen = Generator.create(Device.CPU, 5)) {
            Tensor ta = Tensor.fromDoubles(a, shape).to(Device.CPU, dtype, format, false).requiresGrad(true);
            Tensor tb = Tensor.fromDoubles(b, shape).to(Device.CPU, dtype, format, false).requiresGrad(true);
            Tensor tr = withResidual ? Tensor.fromDoubles(r, shape).to(Device.CPU, dtype, format, false).requiresGrad(true) : null;
            BlockOutput o = ShakeShake.combineAddRelu(ta, tb, tr, forward, backward, level, true, gen);
            assertTrue(o.out().isContiguous(format) && o.outRelu().isContiguous(format), "outputs keep the layout");
            Tensor loss = o.outRelu().to(DType.FLOAT64).mul(Tensor.fromDoubles(g2, shape)).sum();
            if (useOut) loss = loss.add(o.out().to(DType.FLOAT64).mul(Tensor.fromDoubles(g1, shape)).sum());
            loss.backward();
            return new Result(doubles(o.out()), doubles(o.outRelu()), doubles(ta.grad()), doubles(tb.grad()),
                    tr == null ? null : doubles(tr.grad()));
        }
    }

    static double[] doubles(Tensor t) {
        return t.to(DType.FLOAT64).toDoubleArray();
    }

    /** Checks a per-element coefficient is constant over each image (over the batch at batch level), in [0,1]. */
    static double[] perImage(double[] c, Level level, double tolerance, String what) {
        double[] values = new double[N];
        for (int n = 0; n < N; n++) {
            values[n] = c[n * PER_IMAGE];
            for (int i = 0; i < PER_IMAGE; i++) assertEquals(values[n], c[n * PER_IMAGE + i], tolerance, what + " varies inside image " + n);
            assertTrue(values[n] >= -tolerance && values[n] <= 1 + tolerance, what + " " + values[n] + " outside [0,1]");
            if (level == Level.BATCH) assertEquals(values[0], values[n], tolerance, what + " differs between images at batch level");
        }
        return values;
    }

    void checkDefinition(Mode forward, Mode backward, Level level, DType dtype, MemoryFormat format, double tolerance, boolean useOut) {
        String what = forward + "/" + backward + "/" + level + " " + dtype + " " + format + (useOut ? "" : " (out unused)");
        Result res = run(forward, backward, level, dtype, format, true, useOut);
        double[] alpha = new double[SIZE], beta = new double[SIZE], t = new double[SIZE];
        for (int i = 0; i < SIZE; i++) {
            assertEquals(Math.max(res.out[i], 0), res.relu[i], 0, what + ": relu(out) at " + i);
            alpha[i] = (res.out[i] - r[i] - b[i]) / (a[i] - b[i]);
            t[i] = (useOut ? g1[i] : 0) + (res.out[i] > 0 ? g2[i] : 0);
            beta[i] = t[i] == 0 ? Double.NaN : res.gradA[i] / t[i];
            assertEquals(t[i], res.gradR[i], tolerance * (1 + Math.abs(t[i])), what + ": residual gradient is t at " + i);
            assertEquals(t[i] - res.gradA[i], res.gradB[i], tolerance * (1 + Math.abs(t[i])), what + ": grad_b = t - grad_a at " + i);
        }
        double[] alphas = perImage(alpha, level, tolerance * 10, what + " alpha");
        for (int i = 0; i < SIZE; i++) if (Double.isNaN(beta[i]) || Math.abs(t[i]) < 0.05) beta[i] = beta[(i / PER_IMAGE) * PER_IMAGE + firstUsable(t, i / PER_IMAGE)];
        double[] betas = perImage(beta, level, tolerance * 10, what + " beta");
        for (int n = 0; n < N; n++) {
            if (forward == Mode.EVEN) assertEquals(0.5, alphas[n], tolerance * 10, what + ": even forward");
            if (backward == Mode.EVEN) assertEquals(0.5, betas[n], tolerance * 10, what + ": even backward");
            if (backward == Mode.KEEP) assertEquals(alphas[n], betas[n], tolerance * 10, what + ": keep reuses alpha");
        }
    }

    /** Index within image n of an element whose t is far enough from 0 to read beta back. */
    private static int firstUsable(double[] t, int n) {
        for (int i = 0; i < PER_IMAGE; i++) if (Math.abs(t[n * PER_IMAGE + i]) >= 0.05) return i;
        throw new AssertionError("image " + n + " has no usable gradient");
    }

    @ParameterizedTest
    @MethodSource("dev.shakenet.torch.ShakeShakeTest#allModes")
    void everyModeAndLevelFollowsTheDefinition(Mode forward, Mode backward, Level level) {
        checkDefinition(forward, backward, level, DType.FLOAT64, MemoryFormat.CONTIGUOUS, 1e-9, true);   // ATen path
        checkDefinition(forward, backward, level, DType.FLOAT32, MemoryFormat.CONTIGUOUS, 1e-5, true);   // CPU kernel
        checkDefinition(forward, backward, level, DType.FLOAT32, MemoryFormat.CHANNELS_LAST, 1e-5, true);
        checkDefinition(forward, backward, level, DType.FLOAT32, MemoryFormat.CHANNELS_LAST, 1e-5, false);
    }

    @Test
    void bfloat16WithinItsRounding() {
        // Inputs rounded to bfloat16 first; outputs and gradients carry ~0.4% rounding.
        checkDefinition(Mode.SHAKE, Mode.SHAKE, Level.IMAGE, DType.BFLOAT16, MemoryFormat.CHANNELS_LAST, 2e-2, true);
    }

    @Test
    void bothLayoutsGiveTheSameNumbers() {
        Result contiguous = run(Mode.SHAKE, Mode.SHAKE, Level.IMAGE, DType.FLOAT32, MemoryFormat.CONTIGUOUS, true, true);
        Result channelsLast = run(Mode.SHAKE, Mode.SHAKE, Level.IMAGE, DType.FLOAT32, MemoryFormat.CHANNELS_LAST, true, true);
        assertArrayEquals(contiguous.out, channelsLast.out, 0);
        assertArrayEquals(contiguous.gradA, channelsLast.gradA, 0);
        assertArrayEquals(contiguous.gradR, channelsLast.gradR, 0);
    }

    @Test
    void withoutResidualItIsTheShakeCombinationAndItsRelu() {
        Result res = run(Mode.EVEN, Mode.EVEN, Level.IMAGE, DType.FLOAT32, MemoryFormat.CHANNELS_LAST, false, true);
        for (int i = 0; i < SIZE; i++) {
            double out = 0.5 * (a[i] + b[i]);
            assertEquals(out, res.out[i], 1e-6);
            double t = g1[i] + (out > 0 ? g2[i] : 0);
            assertEquals(0.5 * t, res.gradA[i], 1e-5);
            assertEquals(0.5 * t, res.gradB[i], 1e-5);
        }
        assertNull(res.gradR);
    }

    @Test
    void evalIsTheBranchMeanPlusResidualWithOrWithoutAutograd() {
        long[] shape = {N, C, H, W};
        for (boolean grad : new boolean[] {true, false}) {
            try (TensorScope scope = TensorScope.open(); var noGrad = grad ? null : Torch.noGrad()) {
                Tensor ta = Tensor.fromDoubles(a, shape).to(Device.CPU, DType.FLOAT32, MemoryFormat.CHANNELS_LAST, false);
                Tensor tb = Tensor.fromDoubles(b, shape).to(Device.CPU, DType.FLOAT32, MemoryFormat.CHANNELS_LAST, false);
                Tensor tr = Tensor.fromDoubles(r, shape).to(Device.CPU, DType.FLOAT32, MemoryFormat.CHANNELS_LAST, false);
                BlockOutput o = ShakeShake.combineAddRelu(ta, tb, tr, Mode.SHAKE, Mode.SHAKE, Level.IMAGE, false, null);
                double[] out = doubles(o.out()), relu = doubles(o.outRelu());
                for (int i = 0; i < SIZE; i++) {
                    double expected = 0.5 * (a[i] + b[i]) + r[i];
                    assertEquals(expected, out[i], 1e-5, "eval out, grad mode " + grad);
                    assertEquals(Math.max(expected, 0), relu[i], 1e-5, "eval relu, grad mode " + grad);
                }
            }
        }
    }

    @Test
    void aResidualOfAnotherShapeIsRefusedByName() {
        try (TensorScope scope = TensorScope.open()) {
            Tensor x = Tensor.zeros(DType.FLOAT32, Device.CPU, 2, 3, 4, 4);
            Tensor wrong = Tensor.zeros(DType.FLOAT32, Device.CPU, 2, 3, 2, 2);
            TorchException e = assertThrows(TorchException.class,
                    () -> ShakeShake.combineAddRelu(x, x, wrong, Mode.SHAKE, Mode.SHAKE, Level.IMAGE, true, null));
            assertTrue(e.getMessage().contains("residual") && e.getMessage().contains("[2, 3, 2, 2]"), e.getMessage());
        }
    }
}
