package dev.shakenet.torch;

import static dev.shakenet.torch.BlockedLayoutTest.fromBlocked;
import static dev.shakenet.torch.BlockedLayoutTest.toBlocked;
import static org.junit.jupiter.api.Assertions.*;

import dev.shakenet.torch.ShakeShake.BlockOutput;
import dev.shakenet.torch.ShakeShake.Level;
import dev.shakenet.torch.ShakeShake.Mode;
import dev.shakenet.torch.ShakeShake.Norm;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The block end with both branches' batch norms folded in (sn_shake_batch_norm_add_relu):
 * out = r + alpha*bn_a(a) + (1-alpha)*bn_b(b), out_relu = relu(out), against a float64 version
 * written here from the definition (its gradients by central differences), with a and b blocked
 * or channels_last; and the same draws of the shake coefficients as the two ops apart.
 */
class ShakeBatchNormAddReluTest {
    private static final int N = 2, C = 32, H = 3, W = 3, SIZE = N * C * H * W;
    private static final double MOMENTUM = 0.1, EPS = 1e-5;
    private static final long[] SHAPE = {N, C, H, W}, BLOCKED = {N, C / 16, H, W, 16};

    private final Random rng = new Random(23);
    private double[] a = gaussian(SIZE, 0.5, 1.5), b = gaussian(SIZE, -1, 0.8), r = gaussian(SIZE, 0, 1);
    private final double[] ga = gaussian(C, 1, 0.3), ba = gaussian(C, 0, 0.3), gb = gaussian(C, 1, 0.3), bb = gaussian(C, 0, 0.3);
    private double[] g1 = gaussian(SIZE, 0, 1);
    private final double[] g2 = gaussian(SIZE, 0, 1);

    private double[] gaussian(int count, double mean, double std) {
        double[] v = new double[count];
        for (int i = 0; i < count; i++) v[i] = (float) (mean + std * rng.nextGaussian()); // float32 values: both sides see the same
        return v;
    }

    private static final BatchNormKernelTest.Reference BN = new BatchNormKernelTest.Reference(N, C, H, W);

    /** out in NCHW order for per-image coefficients alpha. */
    static double[] out(double[] a, double[] b, double[] r, double[] ga, double[] ba, double[] gb, double[] bb, double[] alpha) {
        double[] ya = BN.forward(a, ga, ba, false), yb = BN.forward(b, gb, bb, false), o = new double[SIZE];
        for (int i = 0; i < SIZE; i++) {
            double al = alpha[i / (C * H * W)];
            o[i] = r[i] + al * ya[i] + (1 - al) * yb[i];
        }
        return o;
    }

    /** sum(out*g1) + sum(relu(out)*g2). */
    double loss(double[] alpha) {
        double[] o = out(a, b, r, ga, ba, gb, bb, alpha);
        double s = 0;
        for (int i = 0; i < SIZE; i++) s += o[i] * g1[i] + Math.max(o[i], 0) * g2[i];  // g1 is zeros where out goes unused
        return s;
    }

    /** Central differences of the loss with respect to each element of {@code which}. */
    double[] differences(double[] which, double[] alpha) {
        double h = 1e-6;
        double[] grad = new double[which.length];
        for (int i = 0; i < which.length; i++) {
            double saved = which[i];
            which[i] = saved + h;
            double plus = loss(alpha);
            which[i] = saved - h;
            double minus = loss(alpha);
            which[i] = saved;
            grad[i] = (plus - minus) / (2 * h);
        }
        return grad;
    }

    record Result(double[] out, double[] relu, double[] gradA, double[] gradB, double[] gradR, double[][] paramGrads, double[][] running) {}

    /**
     * Where the op's tensors live: a and b (blocked or channels_last), the residual, and the
     * results (blocked where asked, float32 only); their dtype; and whether the loss uses out
     * (else only relu(out), so out's gradient never reaches the op, as after a stage's last block).
     */
    record Setup(boolean branchesBlocked, boolean residualBlocked, boolean blockedOut, DType dtype, boolean usesOut) {
        static Setup all(boolean blocked) {
            return new Setup(blocked, blocked, blocked, DType.FLOAT32, true);
        }

        String name() {
            return dtype + " branches " + (branchesBlocked ? "blocked" : "channels_last") + ", residual " + (residualBlocked ? "blocked" : "channels_last")
                    + ", results " + (blockedOut ? "blocked" : "channels_last") + (usesOut ? "" : ", out unused");
        }
    }

    private static double[] nchw(Tensor t) {
        double[] v = t.to(DType.FLOAT64).toDoubleArray();
        return t.shape().length == 5 ? fromBlocked(v, N, C, H, W) : v;
    }

    /** {@code values} (NCHW order) as a tensor of {@code dtype}, blocked (float32) or channels_last. */
    private static Tensor tensor(double[] values, boolean blocked, DType dtype) {
        if (blocked) return Tensor.fromDoubles(toBlocked(values, N, C, H, W), BLOCKED).to(DType.FLOAT32);
        return Tensor.fromDoubles(values, SHAPE).to(Device.CPU, dtype, MemoryFormat.CHANNELS_LAST, false);
    }

    private Result run(boolean blocked, Mode forward, Mode backward, boolean apart) {
        return run(Setup.all(blocked), forward, backward, apart);
    }

    /** Runs the fused op (or, with {@code apart}, the two batch norms and the block end) and backward. */
    private Result run(Setup setup, Mode forward, Mode backward, boolean apart) {
        try (TensorScope scope = TensorScope.open(); Generator gen = Generator.create(Device.CPU, 9)) {
            boolean branchesBlocked = setup.branchesBlocked() && !apart;
            Tensor ta = tensor(a, branchesBlocked, setup.dtype()).requiresGrad(true), tb = tensor(b, branchesBlocked, setup.dtype()).requiresGrad(true);
            Tensor tr = tensor(r, setup.residualBlocked() && !apart, setup.dtype()).requiresGrad(true);
            Tensor[] params = {Tensor.fromDoubles(ga, C).to(DType.FLOAT32).requiresGrad(true), Tensor.fromDoubles(ba, C).to(DType.FLOAT32).requiresGrad(true),
                    Tensor.fromDoubles(gb, C).to(DType.FLOAT32).requiresGrad(true), Tensor.fromDoubles(bb, C).to(DType.FLOAT32).requiresGrad(true)};
            Tensor[] running = {Tensor.full(0.5, DType.FLOAT32, Device.CPU, C), Tensor.full(2.0, DType.FLOAT32, Device.CPU, C),
                    Tensor.full(-0.5, DType.FLOAT32, Device.CPU, C), Tensor.full(3.0, DType.FLOAT32, Device.CPU, C)};
            BlockOutput o;
            if (apart) {
                Tensor ya = Functional.batchNorm(ta, params[0], params[1], running[0], running[1], true, MOMENTUM, EPS);
                Tensor yb = Functional.batchNorm(tb, params[2], params[3], running[2], running[3], true, MOMENTUM, EPS);
                o = ShakeShake.combineAddRelu(ya, yb, tr, forward, backward, Level.IMAGE, true, gen);
            } else {
                o = ShakeShake.batchNormCombineAddRelu(ta, tb, tr, new Norm(params[0], params[1], running[0], running[1]),
                        new Norm(params[2], params[3], running[2], running[3]), MOMENTUM, EPS, forward, backward, Level.IMAGE, gen, setup.blockedOut());
            }
            boolean blockedOut = setup.blockedOut() && !apart && setup.dtype() == DType.FLOAT32;
            assertArrayEquals(blockedOut ? BLOCKED : SHAPE, o.out().shape());
            assertArrayEquals(blockedOut ? BLOCKED : SHAPE, o.outRelu().shape());
            assertEquals(setup.dtype(), o.out().dtype());
            if (!blockedOut) assertTrue(o.out().isContiguous(MemoryFormat.CHANNELS_LAST) && o.outRelu().isContiguous(MemoryFormat.CHANNELS_LAST));
            Tensor loss = o.outRelu().to(DType.FLOAT64).mul(tensor(g2, blockedOut, DType.FLOAT64)).sum();
            if (setup.usesOut()) loss = loss.add(o.out().to(DType.FLOAT64).mul(tensor(g1, blockedOut, DType.FLOAT64)).sum());
            loss.backward();
            double[][] paramGrads = new double[4][], runningValues = new double[4][];
            for (int k = 0; k < 4; k++) {
                paramGrads[k] = params[k].grad().to(DType.FLOAT64).toDoubleArray();
                runningValues[k] = running[k].to(DType.FLOAT64).toDoubleArray();
            }
            return new Result(nchw(o.out()), nchw(o.outRelu()), nchw(ta.grad()), nchw(tb.grad()), nchw(tr.grad()), paramGrads, runningValues);
        }
    }

    /** Each image's alpha, read back from the output where the two normalized branches differ most. */
    private double[] alphaFrom(double[] out) {
        double[] ya = BN.forward(a, ga, ba, false), yb = BN.forward(b, gb, bb, false), alpha = new double[N];
        for (int n = 0; n < N; n++) {
            int best = n * C * H * W;
            for (int i = n * C * H * W; i < (n + 1) * C * H * W; i++) if (Math.abs(ya[i] - yb[i]) > Math.abs(ya[best] - yb[best])) best = i;
            alpha[n] = (out[best] - r[best] - yb[best]) / (ya[best] - yb[best]);
            assertTrue(alpha[n] >= 0 && alpha[n] <= 1, "alpha " + alpha[n] + " of image " + n + " lies in [0,1]");
        }
        assertNotEquals(alpha[0], alpha[1], 1e-3, "each image draws its own alpha");
        return alpha;
    }

    private void checkAgainstDefinition(boolean blocked) {
        checkAgainstDefinition(Setup.all(blocked), 2e-5, 2e-4);
    }

    /** Tolerances relative to each result's scale: outputs, and gradients (finite differences). */
    private void checkAgainstDefinition(Setup setup, double outTolerance, double gradTolerance) {
        String what = setup.name();
        if (setup.dtype() == DType.BFLOAT16) { // the op's inputs, as the float64 definition sees them
            a = BatchNormKernelTest.roundedToBf16(a);
            b = BatchNormKernelTest.roundedToBf16(b);
            r = BatchNormKernelTest.roundedToBf16(r);
        }
        if (!setup.usesOut()) g1 = new double[SIZE];
        // Backward keeps the forward's coefficient, so the float64 loss has the same alpha.
        Result got = run(setup, Mode.SHAKE, Mode.KEEP, false);
        double[] alpha = alphaFrom(got.out);
        double[] expected = out(a, b, r, ga, ba, gb, bb, alpha);
        BatchNormKernelTest.assertClose(expected, got.out, outTolerance, what + " out");
        for (int i = 0; i < SIZE; i++) assertEquals(Math.max(got.out[i], 0), got.relu[i], 0, what + " relu(out) at " + i);
        BatchNormKernelTest.assertClose(differences(a, alpha), got.gradA, gradTolerance, what + " d/da");
        BatchNormKernelTest.assertClose(differences(b, alpha), got.gradB, gradTolerance, what + " d/db");
        BatchNormKernelTest.assertClose(differences(r, alpha), got.gradR, gradTolerance, what + " d/dr");
        double[][] params = {ga, ba, gb, bb};
        String[] names = {"d/dgamma_a", "d/dbeta_a", "d/dgamma_b", "d/dbeta_b"};
        for (int k = 0; k < 4; k++) BatchNormKernelTest.assertClose(differences(params[k], alpha), got.paramGrads[k], gradTolerance, what + " " + names[k]);
        double[] ma = BN.mean(a), va = BN.variance(a, true), mb = BN.mean(b), vb = BN.variance(b, true);
        for (int c = 0; c < C; c++) {
            assertEquals(0.9 * 0.5 + 0.1 * ma[c], got.running[0][c], 1e-5, what + " running mean a " + c);
            assertEquals(0.9 * 2.0 + 0.1 * va[c], got.running[1][c], 1e-5, what + " running variance a " + c);
            assertEquals(0.9 * -0.5 + 0.1 * mb[c], got.running[2][c], 1e-5, what + " running mean b " + c);
            assertEquals(0.9 * 3.0 + 0.1 * vb[c], got.running[3][c], 1e-5, what + " running variance b " + c);
        }
    }

    /** As a network wires a projection block: blocked branches, a projected (channels_last) residual. */
    @Test
    void blockedBranchesWithAChannelsLastResidualMatchTheDefinition() {
        checkAgainstDefinition(new Setup(true, false, true, DType.FLOAT32, true), 2e-5, 2e-4);
    }

    /** A stage's last block: blocked inputs, channels_last results, only relu(out) read by the next stage. */
    @Test
    void aStagesLastBlockWithOnlyItsReluUsedMatchesTheDefinition() {
        checkAgainstDefinition(new Setup(true, true, false, DType.FLOAT32, false), 2e-5, 2e-4);
    }

    /** bfloat16 (autocast's activations) keeps 8 significant bits: results and gradients within ~1%. */
    @Test
    void bfloat16MatchesTheDefinitionWithinItsRounding() {
        checkAgainstDefinition(new Setup(false, false, false, DType.BFLOAT16, true), 1e-2, 2e-2);
    }

    @Test
    void blockedBranchesMatchTheDefinition() {
        checkAgainstDefinition(true);
    }

    @Test
    void channelsLastBranchesMatchTheDefinition() {
        checkAgainstDefinition(false);
    }

    @Test
    void drawsTheSameCoefficientsAsTheOpsApart() {
        // A fresh backward coefficient (SHAKE) cannot be read back from the results; the ops
        // apart, tested on their own, draw from the same generator in the same order.
        Result fused = run(true, Mode.SHAKE, Mode.SHAKE, false), apart = run(true, Mode.SHAKE, Mode.SHAKE, true);
        BatchNormKernelTest.assertClose(apart.out, fused.out, 1e-5, "out");
        BatchNormKernelTest.assertClose(apart.gradA, fused.gradA, 1e-5, "d/da");
        BatchNormKernelTest.assertClose(apart.gradB, fused.gradB, 1e-5, "d/db");
        BatchNormKernelTest.assertClose(apart.gradR, fused.gradR, 1e-5, "d/dr");
        for (int k = 0; k < 4; k++) BatchNormKernelTest.assertClose(apart.paramGrads[k], fused.paramGrads[k], 1e-5, "parameter gradient " + k);
    }

    @Test
    void otherDtypesRunTheOpsApartAndBadShapesAreNamed() {
        try (TensorScope scope = TensorScope.open(); Generator gen = Generator.create(Device.CPU, 1)) {
            Tensor x = Tensor.fromDoubles(a, SHAPE).to(DType.FLOAT64).requiresGrad(true);
            Tensor ones = Tensor.ones(DType.FLOAT64, Device.CPU, C), zeros = Tensor.zeros(DType.FLOAT64, Device.CPU, C);
            Norm norm = new Norm(ones, zeros, Tensor.zeros(DType.FLOAT64, Device.CPU, C), Tensor.ones(DType.FLOAT64, Device.CPU, C));
            BlockOutput o = ShakeShake.batchNormCombineAddRelu(x, x, Tensor.fromDoubles(r, SHAPE), norm, norm, MOMENTUM, EPS, Mode.EVEN, Mode.EVEN,
                    Level.BATCH, gen, false);
            // Both branches equal and alpha 0.5: out = r + bn(a) (float64 through libtorch's batch norm).
            double[] expected = new double[SIZE], y = BN.forward(a, ones.toDoubleArray(), zeros.toDoubleArray(), false);
            for (int i = 0; i < SIZE; i++) expected[i] = r[i] + y[i];
            Reference.assertClose(expected, o.out().toDoubleArray(), 1e-9, "float64 out");
            Tensor wrong = Tensor.zeros(DType.FLOAT32, Device.CPU, N, C, H + 1, W);
            TorchException e = assertThrows(TorchException.class, () -> ShakeShake.batchNormCombineAddRelu(x, wrong, x, norm, norm, MOMENTUM, EPS,
                    Mode.EVEN, Mode.EVEN, Level.BATCH, gen, false));
            assertTrue(e.getMessage().contains("differ in shape"), e.getMessage());
        }
    }
}
