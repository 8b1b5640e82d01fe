package dev.shakenet.data;

/**
 * Images and labels held in memory as CIFAR stores them: {@code count} records of 3x32x32 bytes
 * (all red, then green, then blue, each row-major) and one label byte each, with the
 * normalization their set's images are fed to the model with.
 */
public record ImageSet(byte[] pixels, byte[] labels, int count, Normalization normalization) {
    public static final int CHANNELS = 3, SIZE = 32, IMAGE_BYTES = CHANNELS * SIZE * SIZE;

    /** With CIFAR-10's normalization. */
    public ImageSet(byte[] pixels, byte[] labels, int count) {
        this(pixels, labels, count, Normalization.CIFAR10);
    }

    public ImageSet {
        if (pixels.length != (long) count * IMAGE_BYTES || labels.length != count) {
            throw new IllegalArgumentException("ImageSet of " + count + " images needs " + (long) count * IMAGE_BYTES
                    + " pixel bytes and " + count + " labels, got " + pixels.length + " and " + labels.length);
        }
    }

    public int label(int index) {
        return labels[index];
    }

    /** Images {@code from} (inclusive) to {@code to} (exclusive). */
    public ImageSet slice(int from, int to) {
        if (from < 0 || to > count || from > to) throw new IllegalArgumentException("slice " + from + ".." + to + " of " + count + " images");
        if (from == 0 && to == count) return this;
        return new ImageSet(java.util.Arrays.copyOfRange(pixels, from * IMAGE_BYTES, to * IMAGE_BYTES), java.util.Arrays.copyOfRange(labels, from, to),
                to - from, normalization);
    }

    /** The first {@code n} images (all when n is 0 or at least count). */
    public ImageSet first(int n) {
        if (n <= 0 || n >= count) return this;
        return new ImageSet(java.util.Arrays.copyOf(pixels, n * IMAGE_BYTES), java.util.Arrays.copyOf(labels, n), n, normalization);
    }
}
