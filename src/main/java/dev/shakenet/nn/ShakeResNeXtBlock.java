package dev.shakenet.nn;

import dev.shakenet.torch.ShakeShake;
import dev.shakenet.torch.Tensor;

/**
 * A Shake-Shake ResNeXt block (the reference code's CIFAR-100 block): ReLU(shortcut(x) +
 * shake(branch1(x), branch2(x))) with two {@link BottleneckBranch}es. Unlike the 2xKd family's
 * {@link ShakeBlock}, the ReLU comes after the add, and the shortcut is the identity where width
 * and resolution stay, else a {@link ConvShortcut}. Training draws the coefficients from
 * {@code coefficients}; evaluation uses 0.5 and 0.5.
 */
final class ShakeResNeXtBlock extends Module {
    private final BottleneckBranch branch1;
    private final BottleneckBranch branch2;
    private final ConvShortcut shortcut; // null: identity
    private final ShakeCoefficients coefficients;

    ShakeResNeXtBlock(int in, int width, int out, int cardinality, int stride, ShakeCoefficients coefficients, Init init) {
        this.coefficients = coefficients;
        branch1 = registerModule("branch1", new BottleneckBranch(in, width, out, cardinality, stride, init));
        branch2 = registerModule("branch2", new BottleneckBranch(in, width, out, cardinality, stride, init));
        shortcut = in == out && stride == 1 ? null : registerModule("shortcut", new ConvShortcut(in, out, stride, init));
    }

    /** (N,in,H,W) -> (N,out,H/s,W/s) */
    Tensor forward(Tensor x) {
        try (Tensor a = branch1.forward(x);
             Tensor b = branch2.forward(x);
             ShakeCoefficients.Pair c = isTraining() ? coefficients.next(a) : ShakeCoefficients.even(a);
             Tensor shaken = ShakeShake.apply(a, b, c.alpha(), c.beta());
             Tensor projected = shortcut == null ? null : shortcut.forward(x);
             Tensor sum = (projected == null ? x : projected).add(shaken)) {
            return sum.relu();
        }
    }

    /** Whether the shortcut is a projection (the block changes width or resolution). */
    boolean projects() {
        return shortcut != null;
    }
}
