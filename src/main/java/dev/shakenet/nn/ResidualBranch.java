package dev.shakenet.nn;

import dev.shakenet.torch.Tensor;

/**
 * One residual branch (PAPER.md): ReLU -> conv 3x3 (stride s) -> BN -> ReLU -> conv 3x3 -> BN, its
 * first ReLU taken by the block (ShakeBlock), which shares it between both branches and the shortcut.
 */
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
     * relu(x) (N,in,H,W) -> (N,out,H/s,W/s). Intermediates are closed when the branch returns;
     * what autograd saved for the backward pass stays alive through autograd.
     */
    Tensor forward(Tensor reluX) {
        try (Tensor c1 = conv1.forward(reluX);
             Tensor n1 = bn1.forward(c1);
             Tensor h1 = n1.relu();
             Tensor c2 = conv2.forward(h1)) {
            return bn2.forward(c2);
        }
    }
}
