package dev.shakenet.nn;

import dev.shakenet.torch.Functional;
import dev.shakenet.torch.Tensor;

/**
 * The shortcut of a block that changes width: from ReLU(x), path 1 takes every s-th pixel and
 * path 2 the pixels between (the map shifted by one pixel: first row and column dropped, last
 * row and column zero-padded, i.e. right/bottom padding), each through a 1x1 conv to out/2
 * channels; the two are concatenated and batch-normalized.
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
     * relu(x) (N,in,H,W) -> (N,out,H/s,W/s): both paths' samples side by side in one tensor, through
     * both 1x1 convolutions as one (the two paths' outputs come out concatenated), then batch norm.
     */
    Tensor forward(Tensor reluX) {
        try (Tensor samples = Functional.shortcutSamples(reluX, stride);
             Tensor both = Conv2d.forwardBlockDiagonal(conv1, conv2, samples)) {
            return bn.forward(both);
        }
    }
}
