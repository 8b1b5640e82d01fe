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

    /** (N,in,H,W) -> (N,out,H/s,W/s); intermediates are closed once consumed (see ResidualBranch). */
    public Tensor forward(Tensor x) {
        try (Tensor h = x.relu(); Tensor a = branch1.forward(h); Tensor b = branch2.forward(h)) {
            Tensor combined = ShakeShake.combine(a, b, shake.forward(), shake.backward(), shake.level(), isTraining(), generator);
            if (shortcut == null) return combined.addInPlace(x);
            try (Tensor projected = shortcut.forward(h)) {
                return combined.addInPlace(projected);
            }
        }
    }
}
