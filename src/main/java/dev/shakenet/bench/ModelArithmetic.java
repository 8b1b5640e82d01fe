package dev.shakenet.bench;

/**
 * The multiply-adds of one 32x32 image's forward pass through Shake-Shake-{depth} 2x{width}d,
 * worked out from the layer shapes of PAPER.md's network (as nn.ShakeResNet builds it): the
 * convolutions and the linear layer. Batch norm, ReLU, the shake combination and pooling are a
 * few operations per activation, under 1% of the total, and are not counted.
 */
public final class ModelArithmetic {
    private static final int IMAGE = 32, COLORS = 3, STEM_CHANNELS = 16, KERNEL_3X3 = 9, KERNEL_1X1 = 1;

    private ModelArithmetic() {}

    /** Forward multiply-adds per image; depth 6n+2 (n blocks per stage), width the first stage's channels. */
    public static long forwardMultiplyAdds(int depth, int width, int classes) {
        if (depth < 8 || (depth - 2) % 6 != 0) throw new IllegalArgumentException("depth must be 6n+2 with n >= 1, got " + depth);
        int blocks = (depth - 2) / 6;
        long total = conv(IMAGE, COLORS, STEM_CHANNELS, KERNEL_3X3);
        int in = STEM_CHANNELS;
        for (int stage = 0; stage < 3; stage++) {
            // Stages 2 and 3 halve the resolution in their first block's conv1 and shortcut.
            int out = width << stage, size = IMAGE >> stage;
            total += 2 * (conv(size, in, out, KERNEL_3X3) + conv(size, out, out, KERNEL_3X3));
            // A block that changes width projects: two 1x1 convolutions to out/2, each on its own samples.
            if (in != out) total += 2 * conv(size, in, out / 2, KERNEL_1X1);
            total += (blocks - 1) * 2 * 2 * conv(size, out, out, KERNEL_3X3);
            in = out;
        }
        return total + (long) in * classes;
    }

    /** A convolution to size x size outputs of {@code out} channels, each from {@code in} channels times the kernel's pixels. */
    private static long conv(int size, int in, int out, int kernelPixels) {
        return (long) size * size * out * in * kernelPixels;
    }
}
