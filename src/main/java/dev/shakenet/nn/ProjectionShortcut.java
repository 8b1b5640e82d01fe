package dev.shakenet.nn;

import dev.shakenet.torch.Functional;
import dev.shakenet.torch.Tensor;
import java.util.List;

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

    /** relu(x) (N,in,H,W) -> (N,out,H/s,W/s); intermediates are closed once consumed (see ResidualBranch). */
    Tensor forward(Tensor reluX) {
        Tensor sampled1 = subsample(reluX);
        Tensor path1 = conv1.forward(sampled1);
        if (sampled1 != reluX) sampled1.close();
        Tensor shifted = Functional.shiftPixel(reluX);
        Tensor sampled2 = subsample(shifted);
        Tensor path2 = conv2.forward(sampled2);
        if (sampled2 != shifted) sampled2.close();
        shifted.close();
        try (path1; path2; Tensor both = Functional.cat(List.of(path1, path2), 1)) {
            return bn.forward(both);
        }
    }

    /** A 1x1 average pool with stride s: every s-th pixel (the input itself at stride 1). */
    private Tensor subsample(Tensor x) {
        return stride == 1 ? x : Functional.avgPool2d(x, 1, stride, 0);
    }
}
