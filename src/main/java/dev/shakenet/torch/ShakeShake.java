package dev.shakenet.torch;

import static dev.shakenet.torch.Tensor.own;
import static dev.shakenet.torch.ffi.shakenet_h.sn_shake_shake;

/**
 * The shake-shake combination of two residual branches (PAPER.md), the shim's autograd function:
 * {@code out = alpha*a + (1-alpha)*b} forward, gradients {@code beta*g} and {@code (1-beta)*g}
 * backward. How the coefficients are chosen (modes, level) is the caller's.
 */
public final class ShakeShake {
    static {
        NativeLibrary.ensureLoaded();
    }

    /** How a coefficient is chosen: a fresh U(0,1) draw, 0.5, or (backward only) the forward alpha again. */
    public enum Mode { SHAKE, EVEN, KEEP }

    /** One coefficient per mini-batch, or one per image. */
    public enum Level { BATCH, IMAGE }

    private ShakeShake() {}

    /**
     * Combines branch outputs {@code a} and {@code b} (same shape, dimension 0 the batch) with
     * {@code alpha} and {@code beta}: one element each, or one per image ((N,1,1,1) for images).
     * The coefficients take no gradient.
     */
    public static Tensor apply(Tensor a, Tensor b, Tensor alpha, Tensor beta) {
        return own(Native.handle((arena, out) -> sn_shake_shake(a.handle(), b.handle(), alpha.handle(), beta.handle(), out)));
    }
}
