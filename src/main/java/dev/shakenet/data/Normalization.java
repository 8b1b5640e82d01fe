package dev.shakenet.data;

/** Per-channel mean and standard deviation (on 0..255) that turn a data set's pixel bytes into the model's inputs. */
public final class Normalization {
    /** CIFAR-10's, as the paper and its reference code use them. */
    public static final Normalization CIFAR10 = new Normalization(new double[] {125.3, 123.0, 113.9}, new double[] {63.0, 62.1, 66.7});

    private final double[] mean;
    private final double[] std;
    private final float[][] table; // table[c][byte] = (byte - mean[c]) / std[c]

    public Normalization(double[] mean, double[] std) {
        if (mean.length != ImageSet.CHANNELS || std.length != ImageSet.CHANNELS) throw new IllegalArgumentException("one mean and std per channel");
        this.mean = mean.clone();
        this.std = std.clone();
        table = new float[ImageSet.CHANNELS][256];
        for (int c = 0; c < ImageSet.CHANNELS; c++) {
            for (int v = 0; v < 256; v++) table[c][v] = (float) ((v - mean[c]) / std[c]);
        }
    }

    public double[] mean() {
        return mean.clone();
    }

    public double[] std() {
        return std.clone();
    }

    /** The normalized value of every byte in channel {@code c}. */
    float[] channel(int c) {
        return table[c];
    }
}
