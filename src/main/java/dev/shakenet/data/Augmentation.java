package dev.shakenet.data;

import java.util.SplittableRandom;

/**
 * Turns stored images into a normalized float batch (N,3,32,32): per-channel normalization with
 * the set's mean and std (CIFAR-10: the paper's 125.3, 123.0, 113.9 and 63.0, 62.1, 66.7), and, for training, a random
 * 32x32 crop from the image zero-padded by 4 pixels on each side (padding after normalizing, so
 * it equals the mean, as in the reference code) and a horizontal flip with probability 0.5;
 * optionally Cutout (DeVries and Taylor 2017): a square patch set to 0 after normalizing, the
 * mean colour, as their reference code does.
 */
public final class Augmentation {
    /** CIFAR-10's normalization (a set's own is {@link ImageSet#normalization()}). */
    public static final double[] MEAN = Normalization.CIFAR10.mean();
    public static final double[] STD = Normalization.CIFAR10.std();
    public static final int PAD = 4;

    private Augmentation() {}

    /**
     * Writes image {@code index} of {@code set}, normalized, into slot {@code slot} of {@code out}:
     * the 32x32 crop at offset (PAD + dy, PAD + dx) of the zero-padded image, then mirrored if
     * {@code flip}, i.e. out[y][x] = image[y + dy][(flip ? 31 - x : x) + dx], 0 outside the image.
     */
    static void write(ImageSet set, int index, float[] out, int slot, int dy, int dx, boolean flip) {
        final int size = ImageSet.SIZE;
        byte[] pixels = set.pixels();
        int src = index * ImageSet.IMAGE_BYTES;
        int dst = slot * ImageSet.IMAGE_BYTES;
        for (int c = 0; c < ImageSet.CHANNELS; c++) {
            float[] table = set.normalization().channel(c);
            for (int y = 0; y < size; y++) {
                int sy = y + dy;
                int row = dst + (c * size + y) * size;
                if (sy < 0 || sy >= size) {
                    java.util.Arrays.fill(out, row, row + size, 0f);
                    continue;
                }
                int srcRow = src + (c * size + sy) * size;
                for (int x = 0; x < size; x++) {
                    int sx = (flip ? size - 1 - x : x) + dx;
                    out[row + x] = sx < 0 || sx >= size ? 0f : table[pixels[srcRow + sx] & 0xff];
                }
            }
        }
    }

    /**
     * Zeroes the {@code size} x {@code size} square centred at (cy, cx) in all channels of slot
     * {@code slot} of {@code out}, clipped at the border: rows cy - size/2 .. cy - size/2 + size
     * (exclusive), likewise columns. For even sizes this is the reference code's patch; for odd
     * ones the reference cuts (size-1) x (size-1), nothing at all for 1, so here the patch keeps
     * its extra row and column below and to the right of the centre.
     */
    static void cutout(float[] out, int slot, int size, int cy, int cx) {
        final int side = ImageSet.SIZE;
        int y0 = Math.max(0, cy - size / 2), y1 = Math.min(side, cy - size / 2 + size);
        int x0 = Math.max(0, cx - size / 2), x1 = Math.min(side, cx - size / 2 + size);
        for (int c = 0; c < ImageSet.CHANNELS; c++) {
            int plane = slot * ImageSet.IMAGE_BYTES + c * side * side;
            for (int y = y0; y < y1; y++) java.util.Arrays.fill(out, plane + y * side + x0, plane + y * side + x1, 0f);
        }
    }

    /** Normalizes {@code indices} of {@code set} into a new (N,3,32,32) batch, cropping and flipping with {@code random} if non-null. */
    public static float[] batch(ImageSet set, int[] indices, SplittableRandom random) {
        return batch(set, indices, random, true, 0);
    }

    /**
     * As above, drawing from {@code random} (null: normalize only) a crop and flip per image if
     * {@code cropAndFlip}, then a Cutout centre if {@code cutout} (the patch side) is above 0. The
     * cutout draws follow each image's crop and flip, so with cutout 0 the draws, and every image,
     * are those of crop and flip alone.
     */
    public static float[] batch(ImageSet set, int[] indices, SplittableRandom random, boolean cropAndFlip, int cutout) {
        float[] out = new float[indices.length * ImageSet.IMAGE_BYTES];
        for (int i = 0; i < indices.length; i++) {
            if (random == null || !cropAndFlip) {
                write(set, indices[i], out, i, 0, 0, false);
            } else {
                int dy = random.nextInt(2 * PAD + 1) - PAD;
                int dx = random.nextInt(2 * PAD + 1) - PAD;
                write(set, indices[i], out, i, dy, dx, random.nextBoolean());
            }
            if (random != null && cutout > 0) {
                int cy = random.nextInt(ImageSet.SIZE);
                cutout(out, i, cutout, cy, random.nextInt(ImageSet.SIZE));
            }
        }
        return out;
    }
}
