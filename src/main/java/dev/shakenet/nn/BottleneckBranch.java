package dev.shakenet.nn;

import dev.shakenet.torch.Tensor;

/**
 * One residual branch of a Shake-Shake ResNeXt block, the reference code's ResNeXt bottleneck
 * "form C": conv 1x1 (in -> width) -> BN -> ReLU -> grouped conv 3x3 (width -> width, stride s,
 * {@code cardinality} groups) -> BN -> ReLU -> conv 1x1 (width -> out) -> BN. It starts with the
 * conv, not a ReLU: the previous block (or the stem) already ends with one.
 */
final class BottleneckBranch extends Module {
    private final Conv2d conv1;
    private final BatchNorm2d bn1;
    private final Conv2d conv2;
    private final BatchNorm2d bn2;
    private final Conv2d conv3;
    private final BatchNorm2d bn3;

    /** @param width the bottleneck's channels: cardinality x the channels of one group */
    BottleneckBranch(int in, int width, int out, int cardinality, int stride, Init init) {
        conv1 = registerModule("conv1", new Conv2d(in, width, 1, 1, 0, init));
        bn1 = registerModule("bn1", new BatchNorm2d(width, init));
        conv2 = registerModule("conv2", new Conv2d(width, width, 3, stride, 1, cardinality, init));
        bn2 = registerModule("bn2", new BatchNorm2d(width, init));
        conv3 = registerModule("conv3", new Conv2d(width, out, 1, 1, 0, init));
        bn3 = registerModule("bn3", new BatchNorm2d(out, init));
    }

    /** (N,in,H,W) -> (N,out,H/s,W/s); intermediates are closed here, autograd keeps what it saved. */
    Tensor forward(Tensor x) {
        try (Tensor c1 = conv1.forward(x);
             Tensor n1 = bn1.forward(c1);
             Tensor h1 = n1.relu();
             Tensor c2 = conv2.forward(h1);
             Tensor n2 = bn2.forward(c2);
             Tensor h2 = n2.relu();
             Tensor c3 = conv3.forward(h2)) {
            return bn3.forward(c3);
        }
    }
}
