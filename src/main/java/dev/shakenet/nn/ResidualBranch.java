package dev.shakenet.nn;

import dev.shakenet.torch.Tensor;

/** One residual branch: conv 3x3 (stride s) -> BN -> ReLU -> conv 3x3 -> BN, fed an already ReLU'd input. */
final class ResidualBranch extends Module {
    private final Conv2d conv1;
    private final BatchNorm2d bn1;
    private final Conv2d conv2;
    private final BatchNorm2d bn2;

    ResidualBranch(int in, int out, int stride, Init init) {
        conv1 = registerModule("conv1", new Conv2d(in, out, 3, stride, 1, init));
        bn1 = registerModule("bn1", new BatchNorm2d(out, init));
        conv2 = registerModule("conv2", new Conv2d(out, out, 3, 1, 1, init));
        bn2 = registerModule("bn2", new BatchNorm2d(out, init));
    }

    /**
     * relu(x) (N,in,H,W) -> (N,out,H/s,W/s). Intermediate handles are closed as soon as they are
     * consumed, as Python's reference counting would drop them: what autograd saved for the
     * backward pass stays alive through autograd, everything else is freed at once.
     */
    Tensor forward(Tensor reluX) {
        Tensor h;
        try (Tensor c1 = conv1.forward(reluX)) {
            h = bn1.forwardRelu(c1);
        }
        try (h) {
            return secondHalf(h);
        }
    }

    /**
     * Both branches of a block on the same relu(x), their conv1 run as one convolution with
     * twice the filters and their bn1 as one batch-norm pass that hands each branch its half:
     * the same arithmetic, in fewer and wider ops (much faster for 2x32d's 32-channel stage).
     */
    static Tensor[] forwardPair(ResidualBranch first, ResidualBranch second, Tensor reluX) {
        Tensor[] c2 = convPair(first, second, reluX, false);
        try (Tensor a = c2[0]; Tensor b = c2[1]) {
            return new Tensor[] {first.bn2.forward(a), second.bn2.forward(b)};
        }
    }

    /**
     * {@link #forwardPair} up to the conv2 results, for a block end that folds in the bn2s. With
     * {@code blocked}, the activations may stay in the shim's blocked layout (Functional.conv2d),
     * which the Winograd convolutions read and write: no layout change between conv1 and conv2,
     * forward or backward.
     */
    static Tensor[] convPair(ResidualBranch first, ResidualBranch second, Tensor reluX, boolean blocked) {
        Tensor[] h;
        try (Tensor c1 = Conv2d.forwardPair(first.conv1, second.conv1, reluX, blocked)) {
            h = BatchNorm2d.forwardReluPair(first.bn1, second.bn1, c1, blocked);
        }
        try (Tensor h1 = h[0]; Tensor h2 = h[1]) {
            return new Tensor[] {first.conv2.forward(h1, blocked), second.conv2.forward(h2, blocked)};
        }
    }

    BatchNorm2d bn2() {
        return bn2;
    }

    /** conv2 -> bn2 on relu(bn1(conv1(x))). */
    private Tensor secondHalf(Tensor h) {
        try (Tensor c2 = conv2.forward(h)) {
            return bn2.forward(c2);
        }
    }
}
