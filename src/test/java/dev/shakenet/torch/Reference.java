package dev.shakenet.torch;

import java.util.Random;

/**
 * Independent float64 reference implementations, written from the ops' definitions with plain
 * loops, for checking libshakenet's results. Arrays are row-major; shapes are NCHW.
 */
final class Reference {
    private Reference() {}

    static double[] random(Random rng, int n) {
        double[] a = new double[n];
        for (int i = 0; i < n; i++) a[i] = rng.nextGaussian();
        return a;
    }

    static float[] toFloats(double[] a) {
        float[] f = new float[a.length];
        for (int i = 0; i < a.length; i++) f[i] = (float) a[i];
        return f;
    }

    /** conv2d with zero padding, dilation 1, groups 1. x (N,C,H,W), w (O,C,K,K), bias (O) or null. */
    static double[] conv2d(double[] x, int n, int c, int h, int wd, double[] w, int o, int k, double[] bias, int stride, int pad) {
        int oh = (h + 2 * pad - k) / stride + 1, ow = (wd + 2 * pad - k) / stride + 1;
        double[] out = new double[n * o * oh * ow];
        for (int b = 0; b < n; b++)
            for (int oc = 0; oc < o; oc++)
                for (int i = 0; i < oh; i++)
                    for (int j = 0; j < ow; j++) {
                        double s = bias == null ? 0 : bias[oc];
                        for (int ic = 0; ic < c; ic++)
                            for (int ki = 0; ki < k; ki++)
                                for (int kj = 0; kj < k; kj++) {
                                    int y = i * stride - pad + ki, xx = j * stride - pad + kj;
                                    if (y < 0 || y >= h || xx < 0 || xx >= wd) continue;
                                    s += x[((b * c + ic) * h + y) * wd + xx] * w[((oc * c + ic) * k + ki) * k + kj];
                                }
                        out[((b * o + oc) * oh + i) * ow + j] = s;
                    }
        return out;
    }

    /** Per-channel mean over N, H, W of x (N,C,HW). */
    static double[] channelMean(double[] x, int n, int c, int hw) {
        double[] mean = new double[c];
        for (int b = 0; b < n; b++)
            for (int ch = 0; ch < c; ch++)
                for (int p = 0; p < hw; p++) mean[ch] += x[(b * c + ch) * hw + p];
        for (int ch = 0; ch < c; ch++) mean[ch] /= (double) n * hw;
        return mean;
    }

    /** Mean of each (image, channel) map of x (N,C,HW): (N,C). */
    static double[] channelMeanPerImage(double[] x, int n, int c, int hw) {
        double[] mean = new double[n * c];
        for (int m = 0; m < n * c; m++) {
            for (int p = 0; p < hw; p++) mean[m] += x[m * hw + p];
            mean[m] /= hw;
        }
        return mean;
    }

    /** Per-channel variance over N, H, W; biased (divide by count) or unbiased (count - 1). */
    static double[] channelVar(double[] x, int n, int c, int hw, boolean unbiased) {
        double[] mean = channelMean(x, n, c, hw);
        double[] var = new double[c];
        for (int b = 0; b < n; b++)
            for (int ch = 0; ch < c; ch++)
                for (int p = 0; p < hw; p++) {
                    double d = x[(b * c + ch) * hw + p] - mean[ch];
                    var[ch] += d * d;
                }
        double count = (double) n * hw;
        for (int ch = 0; ch < c; ch++) var[ch] /= unbiased ? count - 1 : count;
        return var;
    }

    /** y = gamma * (x - mean) / sqrt(var + eps) + beta, per channel. */
    static double[] normalize(double[] x, int n, int c, int hw, double[] mean, double[] var, double[] gamma, double[] beta, double eps) {
        double[] y = new double[x.length];
        for (int b = 0; b < n; b++)
            for (int ch = 0; ch < c; ch++)
                for (int p = 0; p < hw; p++) {
                    int idx = (b * c + ch) * hw + p;
                    y[idx] = gamma[ch] * (x[idx] - mean[ch]) / Math.sqrt(var[ch] + eps) + beta[ch];
                }
        return y;
    }

    /** x (N,in) times w (out,in) transposed, plus bias. */
    static double[] linear(double[] x, int n, int in, double[] w, int out, double[] bias) {
        double[] y = new double[n * out];
        for (int b = 0; b < n; b++)
            for (int o = 0; o < out; o++) {
                double s = bias == null ? 0 : bias[o];
                for (int i = 0; i < in; i++) s += x[b * in + i] * w[o * in + i];
                y[b * out + o] = s;
            }
        return y;
    }

    /** Mean over rows of -log softmax(z)[target]. */
    static double crossEntropy(double[] z, int n, int k, long[] targets) {
        double total = 0;
        for (int b = 0; b < n; b++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < k; j++) max = Math.max(max, z[b * k + j]);
            double sum = 0;
            for (int j = 0; j < k; j++) sum += Math.exp(z[b * k + j] - max);
            total += -(z[b * k + (int) targets[b]] - max - Math.log(sum));
        }
        return total / n;
    }

    /** Average pooling without padding: x (N,C,H,W). */
    static double[] avgPool(double[] x, int n, int c, int h, int w, int k, int stride) {
        int oh = (h - k) / stride + 1, ow = (w - k) / stride + 1;
        double[] out = new double[n * c * oh * ow];
        for (int p = 0; p < n * c; p++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++) {
                    double s = 0;
                    for (int a = 0; a < k; a++)
                        for (int b = 0; b < k; b++) s += x[(p * h + i * stride + a) * w + j * stride + b];
                    out[(p * oh + i) * ow + j] = s / (k * k);
                }
        return out;
    }

    static void assertClose(double[] expected, double[] actual, double tol, String what) {
        org.junit.jupiter.api.Assertions.assertEquals(expected.length, actual.length, what + ": length");
        for (int i = 0; i < expected.length; i++) {
            double e = expected[i], a = actual[i];
            if (!(Math.abs(e - a) <= tol * (1 + Math.abs(e)))) {
                org.junit.jupiter.api.Assertions.fail(what + ": element " + i + " expected " + e + " but was " + a + " (tol " + tol + ")");
            }
        }
    }

    static double[] toDoubles(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) d[i] = f[i];
        return d;
    }
}
