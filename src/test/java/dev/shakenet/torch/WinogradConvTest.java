package dev.shakenet.torch;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * The shim's Winograd convolutions (native/src/winograd_conv.cpp): output, input gradient and
 * weight gradient of float32 3x3 convolutions against float64 loops written here from the
 * definition; which convolutions take the Winograd path; layouts; batches split into chunks.
 */
class WinogradConvTest {
    private final Random rng = new Random(11);
    @RegisterExtension
    final WinogradOn winograd = new WinogradOn();

    private static void assumeAvailable() {
        assumeTrue(CpuConvolution.winogradAvailable(),
                "this libshakenet was built without oneDNN's headers (install libdnnl-dev and rebuild native/)");
    }

    @Test
    void switchingOnWhereUnavailableSaysWhy() {
        if (CpuConvolution.winogradAvailable()) {
            CpuConvolution.useWinograd(false);
            assertFalse(CpuConvolution.isWinograd());
            CpuConvolution.useWinograd(true);
            assertTrue(CpuConvolution.isWinograd());
        } else {
            TorchException e = assertThrows(TorchException.class, () -> CpuConvolution.useWinograd(true));
            assertTrue(e.getMessage().contains("libdnnl-dev"), e.getMessage());
        }
    }

    /**
     * The gradients of sum(conv(x, w) * g) (stride 1), from the definition:
     * grad_x[b,c,y,x] = sum over o, ky, kx of g[b,o,y+pad-ky,x+pad-kx] * w[o,c,ky,kx] and
     * grad_w[o,c,ky,kx] = sum over b, y, x of g[b,o,y,x] * x[b,c,y-pad+ky,x-pad+kx]. Returns {grad_x, grad_w}.
     */
    static double[][] gradients(double[] g, double[] x, double[] w, int n, int c, int o, int h, int k, int pad) {
        double[] gx = new double[n * c * h * h], gw = new double[o * c * k * k];
        for (int b = 0; b < n; b++)
            for (int oc = 0; oc < o; oc++)
                for (int i = 0; i < h; i++)
                    for (int j = 0; j < h; j++) {
                        double gv = g[((b * o + oc) * h + i) * h + j];
                        for (int ic = 0; ic < c; ic++)
                            for (int ki = 0; ki < k; ki++)
                                for (int kj = 0; kj < k; kj++) {
                                    int y = i - pad + ki, xx = j - pad + kj;
                                    if (y < 0 || y >= h || xx < 0 || xx >= h) continue;
                                    int xi = ((b * c + ic) * h + y) * h + xx, wi = ((oc * c + ic) * k + ki) * k + kj;
                                    gx[xi] += gv * w[wi];
                                    gw[wi] += gv * x[xi];
                                }
                    }
        return new double[][] {gx, gw};
    }

    /** Largest |a - b| over the largest |b|: the error on the scale of the result. */
    static double scaledError(float[] actual, double[] expected) {
        double err = 0, scale = 0;
        for (int i = 0; i < expected.length; i++) {
            err = Math.max(err, Math.abs(actual[i] - expected[i]));
            scale = Math.max(scale, Math.abs(expected[i]));
        }
        return err / scale;
    }

    /**
     * Runs conv(x, w) forward and backward (upstream gradient g) on the Winograd path and checks
     * all three results against the float64 loops; returns the worst scaled error.
     */
    private double checkAgainstFloat64(int n, int c, int o, int h, MemoryFormat format) {
        double[] x = Reference.random(rng, n * c * h * h), w = Reference.random(rng, o * c * 9), g = Reference.random(rng, n * o * h * h);
        // Round the inputs to float32 first, so both sides see the same operands.
        float[] xf = Reference.toFloats(x), wf = Reference.toFloats(w), gf = Reference.toFloats(g);
        for (int i = 0; i < x.length; i++) x[i] = xf[i];
        for (int i = 0; i < w.length; i++) w[i] = wf[i];
        for (int i = 0; i < g.length; i++) g[i] = gf[i];
        double worst;
        try (TensorScope scope = TensorScope.open()) {
            Tensor xt = Tensor.fromFloats(xf, n, c, h, h).to(format).requiresGrad(true);
            Tensor wt = Tensor.fromFloats(wf, o, c, 3, 3).requiresGrad(true);
            long before = CpuConvolution.winogradCalls();
            Tensor y = Functional.conv2d(xt, wt, null, 1, 1);
            assertEquals(before + 1, CpuConvolution.winogradCalls(), "the convolution ran with Winograd");
            assertTrue(y.isContiguous(format), "the output keeps the input's memory format " + format);
            y.backward(Tensor.fromFloats(gf, n, o, h, h).to(format));
            double forward = scaledError(y.toFloatArray(), Reference.conv2d(x, n, c, h, h, w, o, 3, null, 1, 1));
            double[][] expected = gradients(g, x, w, n, c, o, h, 3, 1);
            double input = scaledError(xt.grad().toFloatArray(), expected[0]);
            double weight = scaledError(wt.grad().toFloatArray(), expected[1]);
            // A wrong tap, tile or channel gives errors of order 1; Winograd's float32 rounding, ~1e-6.
            assertTrue(forward < 2e-5, "output error " + forward);
            assertTrue(input < 2e-5, "input gradient error " + input);
            assertTrue(weight < 2e-5, "weight gradient error " + weight);
            worst = Math.max(forward, Math.max(input, weight));
        }
        return worst;
    }

    @Test
    void matchesFloat64ChannelsLast() {
        assumeAvailable();
        checkAgainstFloat64(3, 32, 16, 10, MemoryFormat.CHANNELS_LAST);
    }

    @Test
    void matchesFloat64Contiguous() {
        assumeAvailable();
        checkAgainstFloat64(2, 16, 48, 7, MemoryFormat.CONTIGUOUS);
    }

    @Test
    void aViewThatIsNotDenseIsReadAsItsOwnValues() {
        assumeAvailable();
        int n = 2, c = 16, wider = 48, o = 16, h = 6;
        double[] all = Reference.random(rng, n * wider * h * h), w = Reference.random(rng, o * c * 9);
        float[] allF = Reference.toFloats(all), wF = Reference.toFloats(w);
        double[] x = new double[n * c * h * h]; // channels 0..15 of the wider tensor, NCHW
        for (int b = 0; b < n; b++)
            for (int ch = 0; ch < c; ch++)
                for (int p = 0; p < h * h; p++) x[(b * c + ch) * h * h + p] = allF[(b * wider + ch) * h * h + p];
        for (int i = 0; i < w.length; i++) w[i] = wF[i];
        try (TensorScope scope = TensorScope.open()) {
            Tensor widerT = Tensor.fromFloats(allF, n, wider, h, h).to(MemoryFormat.CHANNELS_LAST);
            // The first 16 of 48 channels, channels_last: rows of 16 values 48 apart.
            Tensor view = widerT.asStrided(new long[] {n, c, h, h}, new long[] {(long) h * h * wider, 1, (long) h * wider, wider}, 0);
            long before = CpuConvolution.winogradCalls();
            Tensor y = Functional.conv2d(view, Tensor.fromFloats(wF, o, c, 3, 3), null, 1, 1);
            assertEquals(before + 1, CpuConvolution.winogradCalls());
            double err = scaledError(y.toFloatArray(), Reference.conv2d(x, n, c, h, h, w, o, 3, null, 1, 1));
            assertTrue(err < 2e-5, "output error " + err);
        }
    }

    @Test
    void batchesSplitIntoChunksGiveTheWholeBatchsResults() {
        assumeAvailable();
        // 32 channels of 128x128 are 2 MiB an image: the shim runs 4 MiB chunks of 2 images, so
        // 5 images take chunks of 2, 2 and 1, and the weight gradient sums three partial ones.
        checkAgainstFloat64(5, 16, 32, 128, MemoryFormat.CHANNELS_LAST);
    }

    @Test
    void onlyFloat32ThreeByThreeStrideOneConvolutionsTakeIt() {
        assumeAvailable();
        try (TensorScope scope = TensorScope.open(); Generator gen = Generator.create(Device.CPU, 3)) {
            Tensor x = Tensor.randn(0, 1, DType.FLOAT32, Device.CPU, gen, 2, 32, 8, 8);
            Tensor w = Tensor.randn(0, 1, DType.FLOAT32, Device.CPU, gen, 32, 32, 3, 3);
            Tensor bias = Tensor.zeros(DType.FLOAT32, Device.CPU, 32);
            long before = CpuConvolution.winogradCalls();
            Functional.conv2d(x, w, null, 2, 1);                                            // stride 2
            Functional.conv2d(x, w, bias, 1, 1);                                            // bias
            Functional.conv2d(x.to(DType.FLOAT64), w.to(DType.FLOAT64), null, 1, 1);      // float64
            Functional.conv2d(x, Tensor.randn(0, 1, DType.FLOAT32, Device.CPU, gen, 32, 32, 1, 1), null, 1, 0); // 1x1
            Functional.conv2d(Tensor.randn(0, 1, DType.FLOAT32, Device.CPU, gen, 2, 24, 8, 8),           // 24 channels
                    Tensor.randn(0, 1, DType.FLOAT32, Device.CPU, gen, 24, 24, 3, 3), null, 1, 1);
            try (Autocast amp = Autocast.enter(Device.CPU, DType.BFLOAT16)) {
                Functional.conv2d(x, w, null, 1, 1);                                        // autocast bf16
            }
            assertEquals(before, CpuConvolution.winogradCalls(), "none of these took the Winograd path");
            CpuConvolution.useWinograd(false);
            Functional.conv2d(x, w, null, 1, 1);
            assertEquals(before, CpuConvolution.winogradCalls(), "switched off, nothing takes it");
        }
    }
}
