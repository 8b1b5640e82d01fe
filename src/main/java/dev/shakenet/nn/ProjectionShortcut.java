package dev.shakenet.nn;

import dev.shakenet.torch.Functional;
import dev.shakenet.torch.Tensor;
import java.util.List;

/**
 * The shortcut of a block that changes width (PAPER.md): from ReLU(x) (the block's, shared with its
 * branches), path 1 takes every s-th
 * pixel and path 2 the pixels between (the map shifted by one pixel: first row and column
 * dropped, last row and column zero-padded, i.e. right/bottom padding), each through a 1x1 conv
 * to out/2 channels; the two are concatenated and batch-normalized.
 */
final class ProjectionShortcut extends Module {
    private final Conv2d conv1;
    private final Conv2d conv2;
    private final BatchNorm2d bn;
    private final int stride;

    ProjectionShortcut(int in, int out, int stride, Init init) {
        if (out % 2 != 0) throw new IllegalArgumentException("a projection shortcut needs an even width, got " + out);
        this.stride = stride;
        conv1 = registerModule("conv1", new Conv2d(in, out / 2, 1, 1, 0, init));
        conv2 = registerModule("conv2", new Conv2d(in, out / 2, 1, 1, 0, init));
        bn = registerModule("bn", new BatchNorm2d(out, init));
    }

    /**
     * relu(x) (N,in,H,W) -> (N,out,H/s,W/s). Both paths' samples come side by side in one tensor
     * (channels [0,in) path 1, [in,2in) path 2), and a convolution with two groups applies conv1
     * to the first and conv2 to the second: their outputs come out concatenated.
     */
    Tensor forward(Tensor reluX) {
        try (Tensor samples = Functional.shortcutSamples(reluX, stride);
             Tensor weights = Functional.cat(List.of(conv1.weight(), conv2.weight()), 0);
             Tensor paths = Functional.conv2d(samples, weights, null, 1, 1, 0, 0, 2)) {
            return bn.forward(paths);
        }
    }
}
