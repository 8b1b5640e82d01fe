package dev.shakenet.torch;

import static dev.shakenet.torch.Tensor.own;
import static dev.shakenet.torch.ffi.shakenet_h.sn_shake_shake;
import static dev.shakenet.torch.ffi.shakenet_h.sn_shake_batch_norm_add_relu;
import static dev.shakenet.torch.ffi.shakenet_h.sn_shake_shake_add_relu;

import java.lang.foreign.MemorySegment;

/**
 * The shake-shake combination of two residual branches (PAPER.md), one native autograd function:
 * in training {@code out = alpha*a + (1-alpha)*b} with gradients {@code beta*g} and
 * {@code (1-beta)*g}; in eval {@code 0.5*(a+b)}.
 */
public final class ShakeShake {
    static {
        NativeLibrary.ensureLoaded();
    }

    /** How a coefficient is chosen. KEEP (reuse the forward alpha) is a backward mode only. */
    public enum Mode {
        SHAKE(0), EVEN(1), KEEP(2);

        final int code;

        Mode(int code) {
            this.code = code;
        }
    }

    /** One coefficient per mini-batch, or one per image. */
    public enum Level {
        BATCH(0), IMAGE(1);

        final int code;

        Level(int code) {
            this.code = code;
        }
    }

    private ShakeShake() {}

    /**
     * Combines branch outputs {@code a} and {@code b} (same shape, dimension 0 the batch).
     * Coefficients are drawn on their device from {@code generator} (null: the default one).
     */
    public static Tensor combine(Tensor a, Tensor b, Mode forward, Mode backward, Level level, boolean training, Generator generator) {
        return own(Native.handle((arena, out) -> sn_shake_shake(a.handle(), b.handle(), forward.code, backward.code, level.code,
                training ? 1 : 0, Generator.handleOf(generator), out)));
    }

    /** A block's output and its ReLU, as {@link #combineAddRelu} returns them. */
    public record BlockOutput(Tensor out, Tensor outRelu) {}

    /**
     * The end of a shake block in one native op: {@code out = combine(a, b) + residual}
     * ({@code residual} null: none) and {@code outRelu = relu(out)}. Backward, with
     * {@code t = grad(out) + grad(outRelu) * (out > 0)}: {@code beta*t}, {@code (1-beta)*t} and
     * {@code t} for a, b and the residual. One pass each way on the CPU.
     */
    public static BlockOutput combineAddRelu(Tensor a, Tensor b, Tensor residual, Mode forward, Mode backward, Level level,
                                             boolean training, Generator generator) {
        MemorySegment[] outputs = Native.handles(2, (arena, out) -> sn_shake_shake_add_relu(a.handle(), b.handle(),
                residual == null ? MemorySegment.NULL : residual.handle(), forward.code, backward.code, level.code,
                training ? 1 : 0, Generator.handleOf(generator), out[0], out[1]));
        return new BlockOutput(own(outputs[0]), own(outputs[1]));
    }

    /** A batch norm's tensors: affine parameters and running statistics (updated in place in training). */
    public record Norm(Tensor weight, Tensor bias, Tensor runningMean, Tensor runningVar) {}

    /**
     * {@link #combineAddRelu} of two training-mode batch norms' results, {@code normA(a)} and
     * {@code normB(b)}, as one native op (sn_shake_batch_norm_add_relu): on the CPU in float32 it
     * never makes the batch norms' outputs, forward or backward. {@code a}, {@code b} and
     * {@code residual} may be in the shim's blocked layout (Functional.conv2d); with
     * {@code blockedOut} so may the results, for a next block whose convolutions read them
     * as they are. Training only.
     */
    public static BlockOutput batchNormCombineAddRelu(Tensor a, Tensor b, Tensor residual, Norm normA, Norm normB, double momentum,
                                                      double eps, Mode forward, Mode backward, Level level, Generator generator,
                                                      boolean blockedOut) {
        MemorySegment[] outputs = Native.handles(2, (arena, out) -> sn_shake_batch_norm_add_relu(a.handle(), b.handle(),
                residual.handle(), normA.weight().handle(), normA.bias().handle(), normA.runningMean().handle(), normA.runningVar().handle(),
                normB.weight().handle(), normB.bias().handle(), normB.runningMean().handle(), normB.runningVar().handle(), momentum, eps,
                forward.code, backward.code, level.code, Generator.handleOf(generator), blockedOut ? 1 : 0, out[0], out[1]));
        return new BlockOutput(own(outputs[0]), own(outputs[1]));
    }
}
