package dev.shakenet.nn;

import dev.shakenet.torch.DType;
import dev.shakenet.torch.Generator;
import dev.shakenet.torch.ShakeShake.Mode;
import dev.shakenet.torch.Tensor;
import java.util.Arrays;

/**
 * Where a shake block's coefficients come from during training: alpha for the forward pass, beta
 * for the backward pass (PAPER.md). Evaluation always uses 0.5 and 0.5 ({@link #even}).
 */
public interface ShakeCoefficients {
    /** A block's coefficients for one batch; beta may be alpha itself (backward mode keep). */
    record Pair(Tensor alpha, Tensor beta) implements AutoCloseable {
        @Override
        public void close() {
            alpha.close();
            beta.close();
        }
    }

    /** The coefficients for branch outputs shaped like {@code like} (N,...), on its device. */
    Pair next(Tensor like);

    /**
     * Drawn as {@code shake} says, from {@code generator} (on the model's device): U(0,1) for
     * shake, 0.5 for even, beta = alpha for keep; one per image or one per mini-batch.
     */
    static ShakeCoefficients drawn(Shake shake, Generator generator) {
        return like -> {
            long[] shape = new long[like.dim()];
            Arrays.fill(shape, 1);
            if (shake.level() == dev.shakenet.torch.ShakeShake.Level.IMAGE) shape[0] = like.size(0);
            // float32 draws for float32 and reduced-precision training alike: one random stream for both.
            DType dtype = like.dtype() == DType.FLOAT64 ? DType.FLOAT64 : DType.FLOAT32;
            Tensor alpha = draw(shake.forward(), generator, dtype, like, shape);
            Tensor beta = shake.backward() == Mode.KEEP ? alpha.copy() : draw(shake.backward(), generator, dtype, like, shape);
            return new Pair(alpha, beta);
        };
    }

    /** Evaluation's coefficients: 0.5 and 0.5, the branches' mean. */
    static Pair even(Tensor like) {
        DType dtype = like.dtype() == DType.FLOAT64 ? DType.FLOAT64 : DType.FLOAT32;
        return new Pair(Tensor.full(0.5, dtype, like.device(), 1), Tensor.full(0.5, dtype, like.device(), 1));
    }

    private static Tensor draw(Mode mode, Generator generator, DType dtype, Tensor like, long[] shape) {
        return mode == Mode.SHAKE ? Tensor.uniform(0, 1, dtype, like.device(), generator, shape) : Tensor.full(0.5, dtype, like.device(), shape);
    }
}
