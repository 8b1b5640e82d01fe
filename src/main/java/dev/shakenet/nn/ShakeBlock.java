package dev.shakenet.nn;

import dev.shakenet.torch.Generator;
import dev.shakenet.torch.ShakeShake;
import dev.shakenet.torch.Tensor;

/**
 * A Shake-Shake residual block: shortcut(x) + shake(branch1(x), branch2(x)), no ReLU after the
 * add. Both branches and the projection shortcut start with ReLU(x), computed once and shared.
 */
public final class ShakeBlock extends Module {
    private final ResidualBranch branch1;
    private final ResidualBranch branch2;
    private final ProjectionShortcut shortcut; // null: identity
    private final Shake shake;
    private final Generator generator;

    public ShakeBlock(int in, int out, int stride, Shake shake, Generator generator, Init init) {
        if (in == out && stride != 1) throw new IllegalArgumentException("an identity shortcut cannot have stride " + stride);
        this.shake = shake;
        this.generator = generator;
        branch1 = registerModule("branch1", new ResidualBranch(in, out, stride, init));
        branch2 = registerModule("branch2", new ResidualBranch(in, out, stride, init));
        shortcut = in == out ? null : registerModule("shortcut", new ProjectionShortcut(in, out, stride, init));
    }

    /** (N,in,H,W) -> (N,out,H/s,W/s) */
    public Tensor forward(Tensor x) {
        Tensor h = x.relu();
        Tensor combined = ShakeShake.combine(branch1.forward(h), branch2.forward(h), shake.forward(), shake.backward(),
                shake.level(), isTraining(), generator);
        return combined.addInPlace(shortcut == null ? x : shortcut.forward(h));
    }
}
