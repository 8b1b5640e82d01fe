package dev.shakenet.torch;

import static dev.shakenet.torch.Reference.assertClose;
import static dev.shakenet.torch.Reference.random;
import static org.junit.jupiter.api.Assertions.*;

import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Forward results of the network ops against the float64 loops in {@link Reference}. */
class OpsForwardTest {
    private final Random rng = new Random(1234);
    private TensorScope scope;

    @BeforeEach
    void open() {
        scope = TensorScope.open();
    }

    @AfterEach
    void close() {
        scope.close();
    }

    @Test
    void conv2dWithStridePaddingAndBias() {
        int n = 2, c = 3, h = 7, w = 6, o = 4, k = 3;
        double[] x = random(rng, n * c * h * w), wt = random(rng, o * c * k * k), bias = random(rng, o);
        for (int stride : new int[] {1, 2}) {
            for (int pad : new int[] {0, 1}) {
                Tensor out = Functional.conv2d(Tensor.fromDoubles(x, n, c, h, w), Tensor.fromDoubles(wt, o, c, k, k),
                        Tensor.fromDoubles(bias, o), stride, pad);
                int oh = (h + 2 * pad - k) / stride + 1, ow = (w + 2 * pad - k) / stride + 1;
                assertArrayEquals(new long[] {n, o, oh, ow}, out.shape());
                assertClose(Reference.conv2d(x, n, c, h, w, wt, o, k, bias, stride, pad), out.toDoubleArray(), 1e-12,
                        "conv2d stride " + stride + " pad " + pad);
            }
        }
    }

    @Test
    void conv2dFloat32WithoutBiasAndChannelsLast() {
        int n = 2, c = 4, h = 8, w = 8, o = 5, k = 1;
        double[] x = random(rng, n * c * h * w), wt = random(rng, o * c * k * k);
        Tensor input = Tensor.fromFloats(Reference.toFloats(x), n, c, h, w).to(MemoryFormat.CHANNELS_LAST);
        Tensor out = Functional.conv2d(input, Tensor.fromFloats(Reference.toFloats(wt), o, c, k, k), null, 2, 0);
        assertClose(Reference.conv2d(x, n, c, h, w, wt, o, k, null, 2, 0), Reference.toDoubles(out.toFloatArray()), 1e-5,
                "1x1 stride-2 conv, channels_last");
    }

    @Test
    void batchNormTrainingUsesBatchStatsAndUpdatesRunningStats() {
        int n = 4, c = 3, h = 2, w = 3, hw = h * w;
        double[] x = random(rng, n * c * hw);
        for (int i = 0; i < x.length; i++) x[i] = 2 * x[i] + (i % 3); // non-trivial means
        double[] gamma = {1.5, -0.5, 2}, beta = {0.1, 0.2, -0.3};
        double[] rm0 = {0.5, -1, 0}, rv0 = {2, 1, 0.5};
        double momentum = 0.1, eps = 1e-5;
        Tensor rm = Tensor.fromDoubles(rm0.clone(), c), rv = Tensor.fromDoubles(rv0.clone(), c);
        Tensor out = Functional.batchNorm(Tensor.fromDoubles(x, n, c, h, w), Tensor.fromDoubles(gamma, c),
                Tensor.fromDoubles(beta, c), rm, rv, true, momentum, eps);

        double[] mean = Reference.channelMean(x, n, c, hw);
        double[] biased = Reference.channelVar(x, n, c, hw, false);
        double[] unbiased = Reference.channelVar(x, n, c, hw, true);
        assertClose(Reference.normalize(x, n, c, hw, mean, biased, gamma, beta, eps), out.toDoubleArray(), 1e-10, "bn train output");
        double[] expectedMean = new double[c], expectedVar = new double[c];
        for (int ch = 0; ch < c; ch++) {
            expectedMean[ch] = (1 - momentum) * rm0[ch] + momentum * mean[ch];
            expectedVar[ch] = (1 - momentum) * rv0[ch] + momentum * unbiased[ch];
        }
        assertClose(expectedMean, rm.toDoubleArray(), 1e-12, "running mean");
        assertClose(expectedVar, rv.toDoubleArray(), 1e-12, "running var (unbiased)");
    }

    @Test
    void batchNormEvalUsesRunningStatsAndLeavesThem() {
        int n = 2, c = 2, hw = 4;
        double[] x = random(rng, n * c * hw);
        double[] gamma = {0.7, 1.3}, beta = {0, 1}, rm = {0.3, -0.2}, rv = {1.7, 0.4};
        Tensor runningMean = Tensor.fromDoubles(rm.clone(), c), runningVar = Tensor.fromDoubles(rv.clone(), c);
        Tensor out = Functional.batchNorm(Tensor.fromDoubles(x, n, c, 2, 2), Tensor.fromDoubles(gamma, c),
                Tensor.fromDoubles(beta, c), runningMean, runningVar, false, 0.1, 1e-5);
        assertClose(Reference.normalize(x, n, c, hw, rm, rv, gamma, beta, 1e-5), out.toDoubleArray(), 1e-12, "bn eval");
        assertArrayEquals(rm, runningMean.toDoubleArray());
        assertArrayEquals(rv, runningVar.toDoubleArray());
    }

    @Test
    void shortcutSamplesAreBothPathsSubsampledSideBySide() {
        // One 3x3 map: 1 2 3 / 4 5 6 / 7 8 9. Stride 2: path 1 takes (0,0) (0,2) (2,0) (2,2);
        // path 2 takes (1,1) and, past the last row and column, zeros.
        Tensor x = Tensor.fromDoubles(new double[] {1, 2, 3, 4, 5, 6, 7, 8, 9}, 1, 1, 3, 3);
        Tensor s2 = Functional.shortcutSamples(x, 2);
        assertArrayEquals(new long[] {1, 2, 2, 2}, s2.shape());
        assertArrayEquals(new double[] {1, 3, 7, 9, 5, 0, 0, 0}, s2.toDoubleArray());
        // Stride 1: the map itself, then the shift (5 6 0 / 8 9 0 / 0 0 0).
        assertArrayEquals(new double[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 5, 6, 0, 8, 9, 0, 0, 0, 0},
                Functional.shortcutSamples(x, 1).toDoubleArray());
        // Random channels_last maps, odd and even sides, against the definition by index.
        for (int[] dims : new int[][] {{2, 3, 6, 6, 2}, {2, 3, 7, 5, 2}, {1, 2, 7, 8, 3}, {2, 4, 5, 5, 1}}) {
            int n = dims[0], c = dims[1], h = dims[2], w = dims[3], st = dims[4];
            int ho = (h + st - 1) / st, wo = (w + st - 1) / st;
            double[] v = random(rng, n * c * h * w);
            double[] expected = new double[n * 2 * c * ho * wo];
            for (int b = 0; b < n; b++)
                for (int ch = 0; ch < 2 * c; ch++)
                    for (int i = 0; i < ho; i++)
                        for (int j = 0; j < wo; j++) {
                            int shift = ch < c ? 0 : 1, r = i * st + shift, q = j * st + shift;
                            expected[((b * 2 * c + ch) * ho + i) * wo + j] =
                                    r < h && q < w ? v[((b * c + ch % c) * h + r) * w + q] : 0;
                        }
            try (TensorScope scope = TensorScope.open()) {
                Tensor in = Tensor.fromDoubles(v, n, c, h, w).to(MemoryFormat.CHANNELS_LAST);
                Tensor out = Functional.shortcutSamples(in, st);
                assertTrue(out.isContiguous(MemoryFormat.CHANNELS_LAST), "keeps channels_last");
                assertArrayEquals(expected, out.toDoubleArray(), java.util.Arrays.toString(dims));
            }
        }
    }

    @Test
    void shortcutSamplesRefuseABadStrideOrShape() {
        try (TensorScope scope = TensorScope.open()) {
            Tensor x = Tensor.zeros(DType.FLOAT32, Device.CPU, 1, 2, 4, 4);
            TorchException stride = assertThrows(TorchException.class, () -> Functional.shortcutSamples(x, 0));
            assertTrue(stride.getMessage().contains("stride must be at least 1, got 0"), stride.getMessage());
            Tensor flat = Tensor.zeros(DType.FLOAT32, Device.CPU, 2, 16);
            TorchException shape = assertThrows(TorchException.class, () -> Functional.shortcutSamples(flat, 2));
            assertTrue(shape.getMessage().contains("input must be 4-d (N,C,H,W)"), shape.getMessage());
        }
    }

    @Test
    void globalAvgPoolAveragesEachMap() {
        double[] x = random(rng, 2 * 3 * 4 * 4);
        Tensor pooled = Functional.globalAvgPool2d(Tensor.fromDoubles(x, 2, 3, 4, 4));
        assertArrayEquals(new long[] {2, 3}, pooled.shape());
        assertClose(Reference.channelMeanPerImage(x, 2, 3, 16), pooled.toDoubleArray(), 1e-12, "global pool");
    }

    @Test
    void linearMatchesMatrixProduct() {
        int n = 3, in = 5, out = 4;
        double[] x = random(rng, n * in), w = random(rng, out * in), b = random(rng, out);
        Tensor y = Functional.linear(Tensor.fromDoubles(x, n, in), Tensor.fromDoubles(w, out, in), Tensor.fromDoubles(b, out));
        assertClose(Reference.linear(x, n, in, w, out, b), y.toDoubleArray(), 1e-12, "linear");
        Tensor noBias = Functional.linear(Tensor.fromDoubles(x, n, in), Tensor.fromDoubles(w, out, in), null);
        assertClose(Reference.linear(x, n, in, w, out, null), noBias.toDoubleArray(), 1e-12, "linear without bias");
    }

    @Test
    void crossEntropyIsMeanNegativeLogSoftmax() {
        int n = 4, k = 10;
        double[] z = random(rng, n * k);
        long[] y = {3, 0, 9, 3};
        Tensor loss = Functional.crossEntropy(Tensor.fromDoubles(z, n, k), Tensor.fromLongs(y, n));
        assertEquals(0, loss.dim());
        assertEquals(Reference.crossEntropy(z, n, k, y), loss.item(), 1e-12);
        // Uniform logits: the loss is log(k) whatever the targets.
        Tensor uniform = Functional.crossEntropy(Tensor.zeros(DType.FLOAT64, Device.CPU, 2, k), Tensor.fromLongs(new long[] {1, 7}, 2));
        assertEquals(Math.log(k), uniform.item(), 1e-12);
    }

    @Test
    void argmaxAndCountCorrect() {
        double[] z = {0.1, 0.9, 0.0, /**/ 2, -1, 1, /**/ 0, 0, 3, /**/ 5, 6, 7};
        Tensor logits = Tensor.fromDoubles(z, 4, 3);
        assertArrayEquals(new long[] {1, 0, 2, 2}, Functional.argmax(logits, 1).toLongArray());
        Tensor correct = Functional.countCorrect(logits, Tensor.fromLongs(new long[] {1, 2, 2, 0}, 4));
        assertEquals(DType.INT64, correct.dtype());
        assertEquals(2.0, correct.item());
    }
}
