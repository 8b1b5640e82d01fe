package dev.shakenet.nn;

import dev.shakenet.torch.DType;
import dev.shakenet.torch.Functional;
import dev.shakenet.torch.Generator;
import dev.shakenet.torch.ShakeShake;
import dev.shakenet.torch.Tensor;

/**
 * Batch normalization over channels with PyTorch's defaults (momentum 0.1, eps 1e-5), gamma 1
 * and beta 0 at start; buffers named as PyTorch names them, num_batches_tracked included.
 */
public final class BatchNorm2d extends Module {
    public static final double MOMENTUM = 0.1;
    public static final double EPS = 1e-5;

    private final Tensor weight;
    private final Tensor bias;
    private final Tensor runningMean;
    private final Tensor runningVar;
    private final Tensor batchesTracked;

    public BatchNorm2d(int channels, Init init) {
        weight = registerParameter("weight", init.constant(1, DType.FLOAT32, channels));
        bias = registerParameter("bias", init.constant(0, DType.FLOAT32, channels));
        runningMean = registerBuffer("running_mean", init.constant(0, DType.FLOAT32, channels));
        runningVar = registerBuffer("running_var", init.constant(1, DType.FLOAT32, channels));
        batchesTracked = registerBuffer("num_batches_tracked", init.constant(0, DType.INT64));
    }

    /** (N,C,H,W) -> (N,C,H,W); in training also updates the running statistics. */
    public Tensor forward(Tensor x) {
        return forward(x, false);
    }

    /** relu(batch norm(x)), in one pass where the CPU kernel allows. */
    public Tensor forwardRelu(Tensor x) {
        return forward(x, true);
    }

    /**
     * relu(first(x[:, :C])) and relu(second(x[:, C:])) for x (N,2C,H,W), each as its own tensor:
     * the two branches' bn1 after their conv1 ran as one convolution. With {@code blocked}, in
     * the shim's blocked layout (Functional.conv2d): x may be blocked, and so may the halves.
     */
    static Tensor[] forwardReluPair(BatchNorm2d first, BatchNorm2d second, Tensor x, boolean blocked) {
        if (first.isTraining() != second.isTraining()) throw new IllegalStateException("both batch norms must be in the same mode");
        if (first.isTraining()) {
            first.batchesTracked.addInPlace(1);
            second.batchesTracked.addInPlace(1);
        }
        return Functional.batchNormPair(x, first.weight, first.bias, first.runningMean, first.runningVar, second.weight, second.bias,
                second.runningMean, second.runningVar, first.isTraining(), true, MOMENTUM, EPS, blocked);
    }

    /**
     * The end of a shake block whose branches end in {@code first(a)} and {@code second(b)}:
     * both batch norms and the block end (ShakeShake.combineAddRelu) as one native op, its
     * results blocked where {@code blockedOut} allows. Training only.
     */
    static ShakeShake.BlockOutput shakeAddRelu(BatchNorm2d first, BatchNorm2d second, Tensor a, Tensor b, Tensor residual, Shake shake,
                                               Generator generator, boolean blockedOut) {
        if (!first.isTraining() || !second.isTraining()) throw new IllegalStateException("the fused block end is for training only");
        first.batchesTracked.addInPlace(1);
        second.batchesTracked.addInPlace(1);
        return ShakeShake.batchNormCombineAddRelu(a, b, residual, first.tensors(), second.tensors(), MOMENTUM, EPS, shake.forward(),
                shake.backward(), shake.level(), generator, blockedOut);
    }

    private ShakeShake.Norm tensors() {
        return new ShakeShake.Norm(weight, bias, runningMean, runningVar);
    }

    private Tensor forward(Tensor x, boolean relu) {
        if (isTraining()) batchesTracked.addInPlace(1);
        return Functional.batchNorm(x, weight, bias, runningMean, runningVar, isTraining(), relu, MOMENTUM, EPS);
    }
}
