package dev.shakenet.torch;

import static dev.shakenet.torch.Tensor.own;
import static dev.shakenet.torch.ffi.shakenet_h.sn_shake_drop;

/**
 * ShakeDrop (Yamada et al., 2018) on a residual branch's output {@code f}, for blocks
 * {@code y = x + G(f)}: the shim's autograd function in training, a plain scale in evaluation.
 * <ul>
 *   <li>training forward: {@code G = (gate + alpha - gate*alpha) * f}, i.e. f where gate = 1 and
 *       alpha*f where gate = 0;
 *   <li>training backward: {@code grad_f = (gate + beta - gate*beta) * g}: beta, not alpha, on the
 *       way back, as the paper intends;
 *   <li>evaluation: {@code G = p_l * f}, the expectation of the forward coefficient (E[alpha] = 0).
 * </ul>
 * The coefficients are drawn per image by {@link ShakeDropCoefficients#draw}.
 */
public final class ShakeDrop {
    static {
        NativeLibrary.ensureLoaded();
    }

    /** The paper's survival probability of the last block, p_L. */
    public static final double LAST_SURVIVAL = 0.5;

    private ShakeDrop() {}

    /**
     * Training-mode ShakeDrop of {@code f} (dimension 0 the batch, any floating dtype) with one
     * {@code gate}, {@code alpha} and {@code beta} per image, shape (N) or (N,1,1,1), on f's device.
     * The coefficients take no gradient.
     */
    public static Tensor apply(Tensor f, Tensor gate, Tensor alpha, Tensor beta) {
        return own(Native.handle((arena, out) -> sn_shake_drop(f.handle(), gate.handle(), alpha.handle(), beta.handle(), out)));
    }

    /** {@link #apply(Tensor, Tensor, Tensor, Tensor)} with drawn coefficients. */
    public static Tensor apply(Tensor f, ShakeDropCoefficients c) {
        return apply(f, c.gate(), c.alpha(), c.beta());
    }

    /** Evaluation-mode ShakeDrop: {@code survival * f}. */
    public static Tensor evaluate(Tensor f, double survival) {
        return f.mul(survival);
    }

    /**
     * The survival probability of block {@code l} of {@code blocks}, decaying linearly with depth:
     * {@code p_l = 1 - (l / L) * (1 - pL)}, so block 0 (the input) would keep 1 and the last, l = L, has pL.
     */
    public static double survival(int l, int blocks, double pL) {
        if (blocks < 1) throw new IllegalArgumentException("blocks must be at least 1, got " + blocks);
        if (l < 0 || l > blocks) throw new IllegalArgumentException("block " + l + " outside 0.." + blocks);
        if (!(pL >= 0 && pL <= 1)) throw new IllegalArgumentException("pL must lie in [0, 1], got " + pL);
        return 1 - (double) l / blocks * (1 - pL);
    }
}
