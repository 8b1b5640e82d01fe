package dev.shakenet.torch;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The shim's own CPU batch norm (+ReLU) kernel, taken for training on channels_last float32 and
 * bfloat16 activations: outputs, running statistics and gradients against a float64 batch norm
 * written here from its definition, whose gradients are in turn float64 finite differences.
 */
class BatchNormKernelTest {
    private static final double MOMENTUM = 0.1, BN_EPS = 1e-5;
    private final Random rng = new Random(5);

    /** A float64 batch norm over (N,C,H,W) arrays in NCHW order. */
    record Reference(int n, int c, int h, int w) {
        int plane() {
            return h * w;
        }

        int index(int b, int ch, int p) {
            return (b * c + ch) * plane() + p;
        }

        double[] mean(double[] x) {
            double[] m = new double[c];
            for (int ch = 0; ch < c; ch++) {
                for (int b = 0; b < n; b++) for (int p = 0; p < plane(); p++) m[ch] += x[index(b, ch, p)];
                m[ch] /= n * plane();
            }
            return m;
        }

        /** Biased (unbiased = false) or unbiased variance per channel. */
        double[] variance(double[] x, boolean unbiased) {
            double[] m = mean(x), v = new double[c];
            int count = n * plane();
            for (int ch = 0; ch < c; ch++) {
                for (int b = 0; b < n; b++) for (int p = 0; p < plane(); p++) v[ch] += Math.pow(x[index(b, ch, p)] - m[ch], 2);
                v[ch] /= unbiased ? count - 1 : count;
            }
            return v;
        }

        double[] forward(double[] x, double[] gamma, double[] beta, boolean relu) {
            double[] m = mean(x), v = variance(x, false), y = new double[x.length];
            for (int b = 0; b < n; b++)
                for (int ch = 0; ch < c; ch++)
                    for (int p = 0; p < plane(); p++) {
                        int i = index(b, ch, p);
                        double out = (x[i] - m[ch]) / Math.sqrt(v[ch] + BN_EPS) * gamma[ch] + beta[ch];
                        y[i] = relu ? Math.max(out, 0) : out;
                    }
            return y;
        }

        /** sum(forward(...) * r) */
        double weighted(double[] x, double[] gamma, double[] beta, boolean relu, double[] r) {
            double[] y = forward(x, gamma, beta, relu);
            double s = 0;
            for (int i = 0; i < y.length; i++) s += y[i] * r[i];
            return s;
        }
    }

    /** Central differences of {@code Reference.weighted} with respect to each element of {@code which}. */
    static double[] finiteDifferences(Reference ref, double[] x, double[] gamma, double[] beta, boolean relu, double[] r,
                                              double[] which) {
        double eps = 1e-6;
        double[] grad = new double[which.length];
        for (int i = 0; i < which.length; i++) {
            double saved = which[i];
            which[i] = saved + eps;
            double plus = ref.weighted(x, gamma, beta, relu, r);
            which[i] = saved - eps;
            double minus = ref.weighted(x, gamma, beta, relu, r);
            which[i] = saved;
            grad[i] = (plus - minus) / (2 * eps);
        }
        return grad;
    }

    /** Values exactly representable in bfloat16 (8 significant bits), so both sides see the same input. */
    static double[] roundedToBf16(double[] a) {
        double[] out = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            int bits = Float.floatToIntBits((float) a[i]) & 0xFFFF0000;
            out[i] = Float.intBitsToFloat(bits);
        }
        return out;
    }

    private double[] gaussian(int count, double mean, double std) {
        double[] a = new double[count];
        for (int i = 0; i < count; i++) a[i] = mean + std * rng.nextGaussian();
        return a;
    }

    /** What the kernel gives: output, x/gamma/beta gradients of sum(y*r), running mean and variance. */
    private record Result(double[] y, double[] gradX, double[] gradGamma, double[] gradBeta, double[] runningMean, double[] runningVar) {}

    private static Result run(Reference ref, double[] x, double[] gamma, double[] beta, boolean relu, double[] r, DType dtype) {
        try (TensorScope scope = TensorScope.open()) {
            long[] shape = {ref.n, ref.c, ref.h, ref.w};
            Tensor input = Tensor.fromDoubles(x, shape).to(Device.CPU, dtype, MemoryFormat.CHANNELS_LAST, false).requiresGrad(true);
            assertTrue(input.isContiguous(MemoryFormat.CHANNELS_LAST));
            Tensor g = Tensor.fromDoubles(gamma, ref.c).to(DType.FLOAT32).requiresGrad(true);
            Tensor b = Tensor.fromDoubles(beta, ref.c).to(DType.FLOAT32).requiresGrad(true);
            Tensor runningMean = Tensor.full(0.5, DType.FLOAT32, Device.CPU, ref.c);
            Tensor runningVar = Tensor.full(2.0, DType.FLOAT32, Device.CPU, ref.c);
            Tensor y = Functional.batchNorm(input, g, b, runningMean, runningVar, true, relu, MOMENTUM, BN_EPS);
            assertEquals(dtype, y.dtype());
            // r arrives contiguous (NCHW), so the gradient reaching the kernel is not channels_last.
            y.to(DType.FLOAT64).mul(Tensor.fromDoubles(r, shape)).sum().backward();
            return new Result(y.to(DType.FLOAT64).toDoubleArray(), input.grad().to(DType.FLOAT64).toDoubleArray(),
                    g.grad().to(DType.FLOAT64).toDoubleArray(), b.grad().to(DType.FLOAT64).toDoubleArray(),
                    runningMean.to(DType.FLOAT64).toDoubleArray(), runningVar.to(DType.FLOAT64).toDoubleArray());
        }
    }

    static void assertClose(double[] expected, double[] actual, double tolerance, String what) {
        double scale = 0;
        for (double e : expected) scale = Math.max(scale, Math.abs(e));
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], tolerance * Math.max(1, scale), what + " element " + i);
        }
    }

    private void checkAgainstFiniteDifferences(DType dtype, boolean relu, double tolerance) {
        checkAgainstFiniteDifferences(new Reference(3, 5, 2, 3), dtype, relu, tolerance); // 18 rows of 5 channels: no vector-width multiple
    }

    private void checkAgainstFiniteDifferences(Reference ref, DType dtype, boolean relu, double tolerance) {
        double[] x = gaussian(ref.n * ref.c * ref.plane(), 0.3, 1.5);
        double[] gamma = gaussian(ref.c, 1, 0.5), beta = gaussian(ref.c, 0, 0.5), r = gaussian(x.length, 0, 1);
        if (dtype == DType.BFLOAT16) {
            x = roundedToBf16(x);
            r = roundedToBf16(r);
        }
        Result got = run(ref, x, gamma, beta, relu, r, dtype);
        String what = dtype + (relu ? " with ReLU" : "");
        assertClose(ref.forward(x, gamma, beta, relu), got.y, tolerance, what + " output");
        assertClose(finiteDifferences(ref, x, gamma, beta, relu, r, x), got.gradX, tolerance, what + " d/dx");
        assertClose(finiteDifferences(ref, x, gamma, beta, relu, r, gamma), got.gradGamma, tolerance, what + " d/dgamma");
        assertClose(finiteDifferences(ref, x, gamma, beta, relu, r, beta), got.gradBeta, tolerance, what + " d/dbeta");
        double[] m = ref.mean(x), v = ref.variance(x, true);
        for (int ch = 0; ch < ref.c; ch++) {
            assertEquals(0.9 * 0.5 + 0.1 * m[ch], got.runningMean[ch], 1e-6, "running mean " + ch);
            assertEquals(0.9 * 2.0 + 0.1 * v[ch], got.runningVar[ch], 1e-5, "running variance (unbiased) " + ch);
        }
    }

    @Test
    void float32MatchesTheDefinitionAndFiniteDifferences() {
        checkAgainstFiniteDifferences(DType.FLOAT32, false, 2e-5);
        checkAgainstFiniteDifferences(DType.FLOAT32, true, 2e-5);
    }

    @Test
    void bfloat16MatchesWithinItsRounding() {
        // bfloat16 keeps 8 significant bits: outputs and input gradients are rounded to ~0.4%.
        checkAgainstFiniteDifferences(DType.BFLOAT16, false, 1e-2);
        checkAgainstFiniteDifferences(DType.BFLOAT16, true, 1e-2);
    }

    @Test
    void manyRowsSplitAcrossThreadsGiveTheSameAnswerForAnyThreadCount() {
        // 8192 rows (8 chunks) of 24 channels, offset by 100 so a one-pass E[x^2]-E[x]^2 would cancel.
        Reference ref = new Reference(32, 24, 16, 16);
        double[] x = gaussian(ref.n * ref.c * ref.plane(), 100, 0.5);
        double[] gamma = gaussian(ref.c, 1, 0.5), beta = gaussian(ref.c, 0, 0.5), r = gaussian(x.length, 0, 1);
        int threads = Torch.numThreads();
        try {
            Torch.setNumThreads(1);
            Result one = run(ref, x, gamma, beta, true, r, DType.FLOAT32);
            Torch.setNumThreads(2);
            Result two = run(ref, x, gamma, beta, true, r, DType.FLOAT32);
            assertArrayEquals(one.y, two.y, "forward is deterministic across thread counts");
            assertArrayEquals(one.gradX, two.gradX, "backward is deterministic across thread counts");
            assertClose(ref.forward(x, gamma, beta, true), two.y, 1e-4, "output with a large mean");
            assertClose(ref.mean(x), divideRunning(two.runningMean, 0.5), 1e-4, "batch mean");
        } finally {
            Torch.setNumThreads(threads);
        }
    }

    @Test
    void aLargeMeanWithAnOutlierInTheFirstRowKeepsTheVariance() {
        // The one-pass statistics are taken about each channel's first value: make it an
        // outlier 10 standard deviations out on a mean of 1000, the worst case for cancellation.
        Reference ref = new Reference(16, 8, 8, 8);
        double[] x = gaussian(ref.n * ref.c * ref.plane(), 1000, 1);
        for (int ch = 0; ch < ref.c; ch++) x[ref.index(0, ch, 0)] = 1010;
        double[] gamma = gaussian(ref.c, 1, 0.5), beta = gaussian(ref.c, 0, 0.5), r = gaussian(x.length, 0, 1);
        Result got = run(ref, x, gamma, beta, false, r, DType.FLOAT32);
        assertClose(ref.forward(x, gamma, beta, false), got.y, 1e-4, "output");
        double[] v = ref.variance(x, true), fromRunning = divideRunning(got.runningVar, 2.0);
        for (int ch = 0; ch < ref.c; ch++) assertEquals(v[ch], fromRunning[ch], 1e-3 * v[ch], "unbiased variance " + ch);
    }

    /** The batch statistic a running buffer started at {@code start} took in: (new - 0.9*start) / 0.1. */
    private static double[] divideRunning(double[] running, double start) {
        double[] out = new double[running.length];
        for (int i = 0; i < running.length; i++) out[i] = (running[i] - (1 - MOMENTUM) * start) / MOMENTUM;
        return out;
    }

    @Test
    void agreesWithLibtorchsOwnKernelOnContiguousInput() {
        Reference ref = new Reference(8, 16, 6, 6);
        double[] x = gaussian(ref.n * ref.c * ref.plane(), -1, 2);
        double[] gamma = gaussian(ref.c, 1, 0.5), beta = gaussian(ref.c, 0, 0.5);
        try (TensorScope scope = TensorScope.open()) {
            long[] shape = {ref.n, ref.c, ref.h, ref.w};
            Tensor g = Tensor.fromDoubles(gamma, ref.c).to(DType.FLOAT32);
            Tensor b = Tensor.fromDoubles(beta, ref.c).to(DType.FLOAT32);
            Tensor contiguous = Tensor.fromDoubles(x, shape).to(DType.FLOAT32);
            Tensor channelsLast = contiguous.to(MemoryFormat.CHANNELS_LAST);
            Tensor viaLibtorch = Functional.batchNorm(contiguous, g, b, Tensor.zeros(DType.FLOAT32, Device.CPU, ref.c),
                    Tensor.ones(DType.FLOAT32, Device.CPU, ref.c), true, true, MOMENTUM, BN_EPS);
            Tensor viaKernel = Functional.batchNorm(channelsLast, g, b, Tensor.zeros(DType.FLOAT32, Device.CPU, ref.c),
                    Tensor.ones(DType.FLOAT32, Device.CPU, ref.c), true, true, MOMENTUM, BN_EPS);
            assertTrue(viaKernel.isContiguous(MemoryFormat.CHANNELS_LAST), "the kernel keeps the layout");
            float[] expected = viaLibtorch.toFloatArray(), actual = viaKernel.toFloatArray();
            for (int i = 0; i < expected.length; i++) assertEquals(expected[i], actual[i], 1e-5, "element " + i);
        }
    }

    // ---- sn_batch_norm_pair: two batch norms over the channel halves of one tensor ----------------

    /** x1, x2 (N,C,H,W each, NCHW order) side by side as one (N,2C,H,W) array. */
    private static double[] sideBySide(Reference half, double[] x1, double[] x2) {
        double[] out = new double[2 * x1.length];
        int plane = half.plane();
        for (int b = 0; b < half.n; b++) {
            for (int ch = 0; ch < half.c; ch++) {
                System.arraycopy(x1, half.index(b, ch, 0), out, (b * 2 * half.c + ch) * plane, plane);
                System.arraycopy(x2, half.index(b, ch, 0), out, (b * 2 * half.c + half.c + ch) * plane, plane);
            }
        }
        return out;
    }

    /** The first (which 0) or second (1) half's channels of a (N,2C,H,W) NCHW array. */
    private static double[] halfOf(Reference half, double[] merged, int which) {
        double[] out = new double[merged.length / 2];
        int plane = half.plane();
        for (int b = 0; b < half.n; b++) {
            for (int ch = 0; ch < half.c; ch++) {
                System.arraycopy(merged, (b * 2 * half.c + which * half.c + ch) * plane, out, half.index(b, ch, 0), plane);
            }
        }
        return out;
    }

    private void checkPair(DType dtype, MemoryFormat format, double tolerance) {
        checkPair(new Reference(3, 5, 2, 3), dtype, format, tolerance);
    }

    private void checkPair(Reference half, DType dtype, MemoryFormat format, double tolerance) {
        double[] x1 = gaussian(half.n * half.c * half.plane(), 0.3, 1.5), x2 = gaussian(x1.length, -2, 0.7);
        double[] r1 = gaussian(x1.length, 0, 1), r2 = gaussian(x1.length, 0, 1);
        if (dtype == DType.BFLOAT16) {
            x1 = roundedToBf16(x1);
            x2 = roundedToBf16(x2);
            r1 = roundedToBf16(r1);
            r2 = roundedToBf16(r2);
        }
        double[] g1 = gaussian(half.c, 1, 0.5), b1 = gaussian(half.c, 0, 0.5), g2 = gaussian(half.c, 1, 0.5), b2 = gaussian(half.c, 0, 0.5);
        String what = dtype + " " + format + " pair";
        try (TensorScope scope = TensorScope.open()) {
            long[] mergedShape = {half.n, 2L * half.c, half.h, half.w}, halfShape = {half.n, half.c, half.h, half.w};
            Tensor input = Tensor.fromDoubles(sideBySide(half, x1, x2), mergedShape).to(Device.CPU, dtype, format, false).requiresGrad(true);
            Tensor[] gamma = {Tensor.fromDoubles(g1, half.c).to(DType.FLOAT32).requiresGrad(true), Tensor.fromDoubles(g2, half.c).to(DType.FLOAT32).requiresGrad(true)};
            Tensor[] beta = {Tensor.fromDoubles(b1, half.c).to(DType.FLOAT32).requiresGrad(true), Tensor.fromDoubles(b2, half.c).to(DType.FLOAT32).requiresGrad(true)};
            Tensor[] mean = {Tensor.full(0.5, DType.FLOAT32, Device.CPU, half.c), Tensor.full(-0.5, DType.FLOAT32, Device.CPU, half.c)};
            Tensor[] var = {Tensor.full(2.0, DType.FLOAT32, Device.CPU, half.c), Tensor.full(3.0, DType.FLOAT32, Device.CPU, half.c)};
            Tensor[] y = Functional.batchNormPair(input, gamma[0], beta[0], mean[0], var[0], gamma[1], beta[1], mean[1], var[1], true, true,
                    MOMENTUM, BN_EPS);
            for (Tensor t : y) {
                assertArrayEquals(halfShape, t.shape());
                assertEquals(dtype, t.dtype());
                assertTrue(t.isContiguous(format), what + " keeps the layout");
            }
            y[0].to(DType.FLOAT64).mul(Tensor.fromDoubles(r1, halfShape)).sum()
                    .add(y[1].to(DType.FLOAT64).mul(Tensor.fromDoubles(r2, halfShape)).sum()).backward();
            double[] gradX = input.grad().to(DType.FLOAT64).toDoubleArray();
            double[][] xs = {x1, x2}, rs = {r1, r2}, gs = {g1, g2}, bs = {b1, b2};
            double[] startMean = {0.5, -0.5}, startVar = {2.0, 3.0};
            for (int k = 0; k < 2; k++) {
                String which = what + " half " + (k + 1);
                assertClose(half.forward(xs[k], gs[k], bs[k], true), y[k].to(DType.FLOAT64).toDoubleArray(), tolerance, which + " output");
                assertClose(finiteDifferences(half, xs[k], gs[k], bs[k], true, rs[k], xs[k]), halfOf(half, gradX, k), tolerance, which + " d/dx");
                assertClose(finiteDifferences(half, xs[k], gs[k], bs[k], true, rs[k], gs[k]), gamma[k].grad().to(DType.FLOAT64).toDoubleArray(),
                        tolerance, which + " d/dgamma");
                assertClose(finiteDifferences(half, xs[k], gs[k], bs[k], true, rs[k], bs[k]), beta[k].grad().to(DType.FLOAT64).toDoubleArray(),
                        tolerance, which + " d/dbeta");
                double[] m = half.mean(xs[k]), v = half.variance(xs[k], true);
                double[] runningMean = mean[k].to(DType.FLOAT64).toDoubleArray(), runningVar = var[k].to(DType.FLOAT64).toDoubleArray();
                for (int ch = 0; ch < half.c; ch++) {
                    assertEquals(0.9 * startMean[k] + 0.1 * m[ch], runningMean[ch], 1e-5, which + " running mean " + ch);
                    assertEquals(0.9 * startVar[k] + 0.1 * v[ch], runningVar[ch], 1e-5, which + " running variance " + ch);
                }
            }
        }
    }

    @Test
    void aPairNormalizesEachHalfWithItsOwnParametersAndStatistics() {
        checkPair(DType.FLOAT32, MemoryFormat.CHANNELS_LAST, 2e-5); // the shim's kernel, writing two tensors
        checkPair(DType.BFLOAT16, MemoryFormat.CHANNELS_LAST, 1e-2);
        checkPair(DType.FLOAT32, MemoryFormat.CONTIGUOUS, 2e-5);    // libtorch's batch norm, then split
    }

    @Test
    void groupsOf16ChannelsGoThroughTheGroupedKernel() {
        Reference twoGroups = new Reference(3, 32, 4, 5);
        checkAgainstFiniteDifferences(twoGroups, DType.FLOAT32, false, 2e-5);
        checkAgainstFiniteDifferences(twoGroups, DType.FLOAT32, true, 2e-5);
        checkAgainstFiniteDifferences(twoGroups, DType.BFLOAT16, true, 1e-2);
        checkPair(twoGroups, DType.FLOAT32, MemoryFormat.CHANNELS_LAST, 2e-5);
        checkPair(twoGroups, DType.BFLOAT16, MemoryFormat.CHANNELS_LAST, 1e-2);
    }

    @Test
    void aPairRefusesAnOddChannelCountOrMismatchedParameters() {
        try (TensorScope scope = TensorScope.open()) {
            Tensor odd = Tensor.zeros(DType.FLOAT32, Device.CPU, 2, 3, 2, 2);
            Tensor two = Tensor.ones(DType.FLOAT32, Device.CPU, 2), one = Tensor.ones(DType.FLOAT32, Device.CPU, 1);
            TorchException e = assertThrows(TorchException.class,
                    () -> Functional.batchNormPair(odd, one, one, one, one, one, one, one, one, true, true, MOMENTUM, BN_EPS));
            assertTrue(e.getMessage().contains("(N,2C,H,W)"), e.getMessage());
            Tensor even = Tensor.zeros(DType.FLOAT32, Device.CPU, 2, 4, 2, 2);
            e = assertThrows(TorchException.class,
                    () -> Functional.batchNormPair(even, two, two, two, two, one, two, two, two, true, true, MOMENTUM, BN_EPS));
            assertTrue(e.getMessage().contains("must have 2 elements"), e.getMessage());
        }
    }
}
