package dev.shakenet.nn;

import dev.shakenet.torch.Functional;
import dev.shakenet.torch.Tensor;
import java.util.List;

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
        weight = registerParameter("weight", init.constant(1, channels));
        bias = registerParameter("bias", init.constant(0, channels));
        runningMean = registerBuffer("running_mean", init.constant(0, channels));
        runningVar = registerBuffer("running_var", init.constant(1, channels));
        batchesTracked = registerBuffer("num_batches_tracked", init.counter());
    }

    /** (N,C,H,W) -> (N,C,H,W); in training also updates the running statistics. */
    public Tensor forward(Tensor x) {
        if (isTraining()) countBatch();
        return Functional.batchNorm(x, weight, bias, runningMean, runningVar, isTraining(), MOMENTUM, EPS);
    }

    /** One more training batch seen (num_batches_tracked), for an engine that normalizes natively. */
    void countBatch() {
        batchesTracked.addInPlace(1);
    }

    /** weight, bias, running_mean and running_var, in the order the CPU kernels take them. */
    List<Tensor> normTensors() {
        return List.of(weight, bias, runningMean, runningVar);
    }
}
