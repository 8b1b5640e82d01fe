package dev.shakenet.torch;

import static dev.shakenet.torch.BatchNormKernelTest.assertClose;
import static dev.shakenet.torch.BatchNormKernelTest.finiteDifferences;
import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The shim's blocked layout (a (N,C,H,W) activation held as (N,C/16,H,W,16), shakenet.h): the
 * batch norm and Winograd convolutions that write and read it, against float64 references
 * written from the definitions, and the ops that take a blocked input they cannot use as is.
 */
class BlockedLayoutTest {
    private static final double MOMENTUM = 0.1, BN_EPS = 1e-5;
    private final Random rng = new Random(17);
    @RegisterExtension
    final WinogradOn winograd = new WinogradOn();

    /** An NCHW array in blocked order: element (b, c, y, x) at (((b*C/16 + c/16)*H + y)*W + x)*16 + c%16. */
    static double[] toBlocked(double[] nchw, int n, int c, int h, int w) {
        double[] out = new double[nchw.length];
        for (int b = 0; b < n; b++)
            for (int ch = 0; ch < c; ch++)
                for (int p = 0; p < h * w; p++) out[((b * (c / 16) + ch / 16) * h * w + p) * 16 + ch % 16] = nchw[(b * c + ch) * h * w + p];
        return out;
    }

    static double[] fromBlocked(double[] blocked, int n, int c, int h, int w) {
        double[] out = new double[blocked.length];
        for (int b = 0; b < n; b++)
            for (int ch = 0; ch < c; ch++)
                for (int p = 0; p < h * w; p++) out[(b * c + ch) * h * w + p] = blocked[((b * (c / 16) + ch / 16) * h * w + p) * 16 + ch % 16];
        return out;
    }

    private double[] gaussian(int count, double mean, double std) {
        double[] a = new double[count];
        for (int i = 0; i < count; i++) a[i] = mean + std * rng.nextGaussian();
        return a;
    }

    private static long[] blockedShape(BatchNormKernelTest.Reference ref) {
        return new long[] {ref.n(), ref.c() / 16, ref.h(), ref.w(), 16};
    }

    /**
     * Batch norm (+ReLU) in the blocked layout, from a channels_last or a blocked input to a
     * blocked result: output, gradients of sum(y*r) and running statistics against the float64
     * definition and its finite differences.
     */
    private void checkBatchNorm(boolean blockedIn, boolean relu) {
        BatchNormKernelTest.Reference ref = new BatchNormKernelTest.Reference(3, 32, 2, 3);
        double[] x = gaussian(ref.n() * ref.c() * ref.plane(), 0.3, 1.5);
        double[] gamma = gaussian(ref.c(), 1, 0.5), beta = gaussian(ref.c(), 0, 0.5), r = gaussian(x.length, 0, 1);
        long[] shape = {ref.n(), ref.c(), ref.h(), ref.w()}, blocked = blockedShape(ref);
        String what = (blockedIn ? "blocked in" : "channels_last in") + (relu ? " with ReLU" : "");
        try (TensorScope scope = TensorScope.open()) {
            Tensor input = (blockedIn ? Tensor.fromDoubles(toBlocked(x, ref.n(), ref.c(), ref.h(), ref.w()), blocked).to(DType.FLOAT32)
                    : Tensor.fromDoubles(x, shape).to(Device.CPU, DType.FLOAT32, MemoryFormat.CHANNELS_LAST, false)).requiresGrad(true);
            Tensor g = Tensor.fromDoubles(gamma, ref.c()).to(DType.FLOAT32).requiresGrad(true);
            Tensor b = Tensor.fromDoubles(beta, ref.c()).to(DType.FLOAT32).requiresGrad(true);
            Tensor runningMean = Tensor.full(0.5, DType.FLOAT32, Device.CPU, ref.c());
            Tensor runningVar = Tensor.full(2.0, DType.FLOAT32, Device.CPU, ref.c());
            Tensor y = Functional.batchNorm(input, g, b, runningMean, runningVar, true, relu, MOMENTUM, BN_EPS, true);
            assertArrayEquals(blocked, y.shape(), what + ": the result is blocked");
            double[] yNchw = fromBlocked(y.to(DType.FLOAT64).toDoubleArray(), ref.n(), ref.c(), ref.h(), ref.w());
            y.to(DType.FLOAT64).mul(Tensor.fromDoubles(toBlocked(r, ref.n(), ref.c(), ref.h(), ref.w()), blocked)).sum().backward();
            double[] gradX = input.grad().to(DType.FLOAT64).toDoubleArray();
            if (blockedIn) gradX = fromBlocked(gradX, ref.n(), ref.c(), ref.h(), ref.w());
            assertClose(ref.forward(x, gamma, beta, relu), yNchw, 2e-5, what + " output");
            assertClose(finiteDifferences(ref, x, gamma, beta, relu, r, x), gradX, 2e-5, what + " d/dx");
            assertClose(finiteDifferences(ref, x, gamma, beta, relu, r, gamma), g.grad().to(DType.FLOAT64).toDoubleArray(), 2e-5, what + " d/dgamma");
            assertClose(finiteDifferences(ref, x, gamma, beta, relu, r, beta), b.grad().to(DType.FLOAT64).toDoubleArray(), 2e-5, what + " d/dbeta");
            double[] m = ref.mean(x), v = ref.variance(x, true);
            double[] rm = runningMean.to(DType.FLOAT64).toDoubleArray(), rv = runningVar.to(DType.FLOAT64).toDoubleArray();
            for (int ch = 0; ch < ref.c(); ch++) {
                assertEquals(0.9 * 0.5 + 0.1 * m[ch], rm[ch], 1e-6, what + " running mean " + ch);
                assertEquals(0.9 * 2.0 + 0.1 * v[ch], rv[ch], 1e-5, what + " running variance " + ch);
            }
        }
    }

    @Test
    void batchNormWritesAndReadsTheBlockedLayout() {
        checkBatchNorm(false, false);
        checkBatchNorm(false, true);
        checkBatchNorm(true, false);
        checkBatchNorm(true, true);
    }

    @Test
    void aPairHandsEachBranchItsBlockedHalf() {
        // 64 channels, blocked in and out: each half is its own (N,2,H,W,16) tensor.
        BatchNormKernelTest.Reference half = new BatchNormKernelTest.Reference(2, 32, 3, 2), merged = new BatchNormKernelTest.Reference(2, 64, 3, 2);
        double[] x = gaussian(merged.n() * merged.c() * merged.plane(), -1, 2);
        double[] g1 = gaussian(32, 1, 0.5), b1 = gaussian(32, 0, 0.5), g2 = gaussian(32, 1, 0.5), b2 = gaussian(32, 0, 0.5);
        double[] r1 = gaussian(x.length / 2, 0, 1), r2 = gaussian(x.length / 2, 0, 1);
        try (TensorScope scope = TensorScope.open()) {
            Tensor input = Tensor.fromDoubles(toBlocked(x, 2, 64, 3, 2), blockedShape(merged)).to(DType.FLOAT32).requiresGrad(true);
            Tensor[] gamma = {Tensor.fromDoubles(g1, 32).to(DType.FLOAT32), Tensor.fromDoubles(g2, 32).to(DType.FLOAT32)};
            Tensor[] beta = {Tensor.fromDoubles(b1, 32).to(DType.FLOAT32), Tensor.fromDoubles(b2, 32).to(DType.FLOAT32)};
            Tensor[] mean = {Tensor.zeros(DType.FLOAT32, Device.CPU, 32), Tensor.zeros(DType.FLOAT32, Device.CPU, 32)};
            Tensor[] var = {Tensor.ones(DType.FLOAT32, Device.CPU, 32), Tensor.ones(DType.FLOAT32, Device.CPU, 32)};
            Tensor[] y = Functional.batchNormPair(input, gamma[0], beta[0], mean[0], var[0], gamma[1], beta[1], mean[1], var[1], true, true,
                    MOMENTUM, BN_EPS, true);
            double[][] rs = {r1, r2};
            Tensor loss = null;
            for (int k = 0; k < 2; k++) {
                assertArrayEquals(blockedShape(half), y[k].shape(), "half " + k + " is blocked");
                Tensor term = y[k].to(DType.FLOAT64).mul(Tensor.fromDoubles(toBlocked(rs[k], 2, 32, 3, 2), blockedShape(half))).sum();
                loss = loss == null ? term : loss.add(term);
            }
            loss.backward();
            double[] gradX = fromBlocked(input.grad().to(DType.FLOAT64).toDoubleArray(), 2, 64, 3, 2);
            double[][] gs = {g1, g2}, bs = {b1, b2};
            for (int k = 0; k < 2; k++) {
                double[] xk = halfOf(x, k), yk = fromBlocked(y[k].to(DType.FLOAT64).toDoubleArray(), 2, 32, 3, 2);
                assertClose(half.forward(xk, gs[k], bs[k], true), yk, 2e-5, "half " + k + " output");
                assertClose(finiteDifferences(half, xk, gs[k], bs[k], true, rs[k], xk), halfOf(gradX, k), 2e-5, "half " + k + " d/dx");
            }
        }
    }

    /** Channels 32k..32k+31 of a (2,64,3,2) NCHW array. */
    private static double[] halfOf(double[] merged, int k) {
        double[] out = new double[merged.length / 2];
        for (int b = 0; b < 2; b++) System.arraycopy(merged, (b * 64 + 32 * k) * 6, out, b * 32 * 6, 32 * 6);
        return out;
    }

    @Test
    void statisticsOfALargeMeanAreExactAndTheSameForAnyThreadCount() {
        // Offset 100 with spread 0.5: a one-pass E[x^2]-E[x]^2 in float32 would lose the variance.
        BatchNormKernelTest.Reference ref = new BatchNormKernelTest.Reference(16, 32, 8, 8);
        double[] x = gaussian(ref.n() * ref.c() * ref.plane(), 100, 0.5);
        double[] gamma = gaussian(ref.c(), 1, 0.5), beta = gaussian(ref.c(), 0, 0.5);
        long[] shape = {ref.n(), ref.c(), ref.h(), ref.w()};
        int threads = Torch.numThreads();
        try (TensorScope scope = TensorScope.open()) {
            Tensor input = Tensor.fromDoubles(x, shape).to(Device.CPU, DType.FLOAT32, MemoryFormat.CHANNELS_LAST, false);
            Tensor g = Tensor.fromDoubles(gamma, ref.c()).to(DType.FLOAT32), b = Tensor.fromDoubles(beta, ref.c()).to(DType.FLOAT32);
            double[][] outputs = new double[2][];
            for (int t = 1; t <= 2; t++) {
                Torch.setNumThreads(t);
                Tensor y = Functional.batchNorm(input, g, b, Tensor.zeros(DType.FLOAT32, Device.CPU, ref.c()),
                        Tensor.ones(DType.FLOAT32, Device.CPU, ref.c()), true, false, MOMENTUM, BN_EPS, true);
                outputs[t - 1] = y.to(DType.FLOAT64).toDoubleArray();
            }
            assertArrayEquals(outputs[0], outputs[1], "the same bits for 1 and 2 threads");
            assertClose(ref.forward(x, gamma, beta, false), fromBlocked(outputs[1], ref.n(), ref.c(), ref.h(), ref.w()), 1e-4,
                    "output with a large mean");
        } finally {
            Torch.setNumThreads(threads);
        }
    }

    @Test
    void winogradConvolutionsPassTheBlockedLayoutBetweenThem() {
        assumeTrue(CpuConvolution.winogradAvailable(), "this libshakenet was built without oneDNN's headers");
        // x (5,16,128,128, channels_last) -> conv (32 filters) -> conv (16 filters), both results
        // blocked: 2 MiB an image in the middle, so the batch runs in chunks of 2, 2 and 1 images.
        int n = 5, c = 16, mid = 32, o = 16, h = 128;
        float[] xf = Reference.toFloats(Reference.random(rng, n * c * h * h)), w1f = Reference.toFloats(Reference.random(rng, mid * c * 9));
        float[] w2f = Reference.toFloats(Reference.random(rng, o * mid * 9)), gf = Reference.toFloats(Reference.random(rng, n * o * h * h));
        double[] x = Reference.toDoubles(xf), w1 = Reference.toDoubles(w1f), w2 = Reference.toDoubles(w2f), g = Reference.toDoubles(gf);
        double[] z = Reference.conv2d(x, n, c, h, h, w1, mid, 3, null, 1, 1);
        double[] y = Reference.conv2d(z, n, mid, h, h, w2, o, 3, null, 1, 1);
        double[][] second = WinogradConvTest.gradients(g, z, w2, n, mid, o, h, 3, 1);
        double[][] first = WinogradConvTest.gradients(second[0], x, w1, n, c, mid, h, 3, 1);
        try (TensorScope scope = TensorScope.open()) {
            Tensor xt = Tensor.fromFloats(xf, n, c, h, h).to(MemoryFormat.CHANNELS_LAST).requiresGrad(true);
            Tensor w1t = Tensor.fromFloats(w1f, mid, c, 3, 3).requiresGrad(true), w2t = Tensor.fromFloats(w2f, o, mid, 3, 3).requiresGrad(true);
            long before = CpuConvolution.winogradCalls();
            Tensor zt = Functional.conv2d(xt, w1t, null, 1, 1, true);
            assertArrayEquals(new long[] {n, mid / 16, h, h, 16}, zt.shape(), "the middle result is blocked");
            Tensor yt = Functional.conv2d(zt, w2t, null, 1, 1, true);
            assertEquals(before + 2, CpuConvolution.winogradCalls(), "both ran with Winograd");
            assertArrayEquals(new long[] {n, o / 16, h, h, 16}, yt.shape(), "the last result is blocked");
            yt.backward(Tensor.fromDoubles(toBlocked(g, n, o, h, h), n, o / 16, h, h, 16).to(DType.FLOAT32));
            // A wrong tap, block or chunk gives errors of order 1; Winograd's float32 rounding, ~1e-6.
            double[] errors = {WinogradConvTest.scaledError(zt.toFloatArray(), toBlocked(z, n, mid, h, h)),
                    WinogradConvTest.scaledError(yt.toFloatArray(), toBlocked(y, n, o, h, h)),
                    WinogradConvTest.scaledError(xt.grad().toFloatArray(), first[0]),
                    WinogradConvTest.scaledError(w1t.grad().toFloatArray(), first[1]),
                    WinogradConvTest.scaledError(w2t.grad().toFloatArray(), second[1])};
            String[] names = {"blocked middle", "output", "input gradient", "first weight gradient", "second weight gradient"};
            for (int i = 0; i < errors.length; i++) assertTrue(errors[i] < 2e-5, names[i] + " error " + errors[i]);
        }
    }

    @Test
    void opsThatCannotUseABlockedInputReadItAsTheOrdinaryOne() {
        // Evaluation-mode batch norm and a convolution with Winograd off take libtorch's path,
        // which needs the ordinary layout: the blocked input is converted, and its gradient
        // goes back blocked.
        int n = 2, c = 16, h = 5;
        double[] x = gaussian(n * c * h * h, 0, 1), w = Reference.toDoubles(Reference.toFloats(gaussian(c * c * 9, 0, 0.2)));
        x = Reference.toDoubles(Reference.toFloats(x));
        long[] blocked = {n, 1, h, h, 16};
        try (TensorScope scope = TensorScope.open()) {
            Tensor xt = Tensor.fromDoubles(toBlocked(x, n, c, h, h), blocked).to(DType.FLOAT32).requiresGrad(true);
            Tensor bn = Functional.batchNorm(xt, Tensor.full(2.0, DType.FLOAT32, Device.CPU, c), Tensor.full(0.5, DType.FLOAT32, Device.CPU, c),
                    Tensor.full(0.25, DType.FLOAT32, Device.CPU, c), Tensor.full(4.0, DType.FLOAT32, Device.CPU, c), false, false, MOMENTUM, BN_EPS, true);
            assertArrayEquals(new long[] {n, c, h, h}, bn.shape(), "evaluation gives the ordinary layout");
            double[] expected = new double[x.length];
            for (int i = 0; i < x.length; i++) expected[i] = (x[i] - 0.25) / Math.sqrt(4.0 + BN_EPS) * 2.0 + 0.5;
            Reference.assertClose(expected, bn.to(DType.FLOAT64).toDoubleArray(), 1e-6, "evaluation output");

            if (CpuConvolution.winogradAvailable()) CpuConvolution.useWinograd(false);
            Tensor wt = Tensor.fromDoubles(w, c, c, 3, 3).to(DType.FLOAT32);
            Tensor y = Functional.conv2d(xt, wt, null, 1, 1, true);
            assertArrayEquals(new long[] {n, c, h, h}, y.shape(), "libtorch's convolution gives the ordinary layout");
            Reference.assertClose(Reference.conv2d(x, n, c, h, h, w, c, 3, null, 1, 1), y.to(DType.FLOAT64).toDoubleArray(), 1e-5,
                    "direct convolution of a blocked input");
            double[] g = gaussian(n * c * h * h, 0, 1);
            y.backward(Tensor.fromDoubles(g, n, c, h, h).to(DType.FLOAT32));
            double[] gradX = WinogradConvTest.gradients(g, x, w, n, c, c, h, 3, 1)[0];
            assertArrayEquals(blocked, xt.grad().shape(), "the gradient is blocked like its input");
            Reference.assertClose(gradX, fromBlocked(xt.grad().to(DType.FLOAT64).toDoubleArray(), n, c, h, h), 1e-5, "input gradient");
        }
    }

    @Test
    void withoutTheFlagAFiveDimensionalTensorIsAnOrdinaryOne() {
        // (2,3,2,2,16) is the blocked shape's rank and last size, but without `blocked` batch norm
        // normalizes its 3 channels (dimension 1), and a convolution refuses it.
        double[] x = gaussian(2 * 3 * 2 * 2 * 16, 1, 2);
        try (TensorScope scope = TensorScope.open()) {
            Tensor input = Tensor.fromDoubles(x, 2, 3, 2, 2, 16).to(DType.FLOAT32);
            Tensor y = Functional.batchNorm(input, Tensor.ones(DType.FLOAT32, Device.CPU, 3), Tensor.zeros(DType.FLOAT32, Device.CPU, 3),
                    Tensor.zeros(DType.FLOAT32, Device.CPU, 3), Tensor.ones(DType.FLOAT32, Device.CPU, 3), true, false, MOMENTUM, BN_EPS, false);
            assertArrayEquals(new long[] {2, 3, 2, 2, 16}, y.shape());
            double[] out = y.to(DType.FLOAT64).toDoubleArray();
            int per = 2 * 2 * 16;
            for (int c = 0; c < 3; c++) {
                double mean = 0, square = 0;
                for (int n = 0; n < 2; n++) for (int i = 0; i < per; i++) mean += x[(n * 3 + c) * per + i] / (2 * per);
                for (int n = 0; n < 2; n++) for (int i = 0; i < per; i++) square += Math.pow(x[(n * 3 + c) * per + i] - mean, 2) / (2 * per);
                for (int n = 0; n < 2; n++)
                    for (int i = 0; i < per; i++) {
                        int k = (n * 3 + c) * per + i;
                        assertEquals((x[k] - mean) / Math.sqrt(square + BN_EPS), out[k], 1e-4, "channel " + c + " element " + k);
                    }
            }
            TorchException e = assertThrows(TorchException.class,
                    () -> Functional.conv2d(input, Tensor.zeros(DType.FLOAT32, Device.CPU, 16, 48, 3, 3), null, 1, 1, false));
            assertTrue(e.getMessage().contains("4-d"), e.getMessage());
        }
    }
}
