package dev.shakenet.nn;

import dev.shakenet.torch.ShakeShake;
import dev.shakenet.torch.Tensor;

/**
 * A Shake-Shake residual block (PAPER.md): shortcut(x) + shake(branch1(x), branch2(x)), no ReLU
 * after the add. The shortcut is the identity where width and resolution stay, else a
 * {@link ProjectionShortcut}. Both branches and the projection start with ReLU(x), computed once
 * here. In training the shake coefficients come from {@code coefficients}; in evaluation both are 0.5.
 */
public final class ShakeBlock extends Module {
    private final ResidualBranch branch1;
    private final ResidualBranch branch2;
    private final ProjectionShortcut shortcut; // null: identity
    private final ShakeCoefficients coefficients;

    public ShakeBlock(int in, int out, int stride, ShakeCoefficients coefficients, Init init) {
        if (in == out && stride != 1) throw new IllegalArgumentException("an identity shortcut cannot have stride " + stride);
        this.coefficients = coefficients;
        branch1 = registerModule("branch1", new ResidualBranch(in, out, stride, init));
        branch2 = registerModule("branch2", new ResidualBranch(in, out, stride, init));
        shortcut = in == out ? null : registerModule("shortcut", new ProjectionShortcut(in, out, stride, init));
    }

    /** (N,in,H,W) -> (N,out,H/s,W/s) */
    public Tensor forward(Tensor x) {
        try (Tensor h = x.relu();
             Tensor a = branch1.forward(h);
             Tensor b = branch2.forward(h);
             ShakeCoefficients.Pair c = isTraining() ? coefficients.next(a) : ShakeCoefficients.even(a);
             Tensor shaken = ShakeShake.apply(a, b, c.alpha(), c.beta())) {
            if (shortcut == null) return x.add(shaken);
            try (Tensor projected = shortcut.forward(h)) {
                return projected.add(shaken);
            }
        }
    }

    /** Whether the shortcut is a projection (the block changes width or resolution). */
    boolean projects() {
        return shortcut != null;
    }

    ShakeCoefficients coefficients() {
        return coefficients;
    }
}
