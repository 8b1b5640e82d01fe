package dev.shakenet.train;

import dev.shakenet.data.Batches;
import dev.shakenet.nn.ShakeResNet;
import dev.shakenet.optim.Sgd;
import dev.shakenet.torch.Autocast;
import dev.shakenet.torch.DType;
import dev.shakenet.torch.Device;
import dev.shakenet.torch.Functional;
import dev.shakenet.torch.MemoryFormat;
import dev.shakenet.torch.ParameterUpdates;
import dev.shakenet.torch.Tensor;
import java.util.List;

/**
 * One training update, as both the trainer and the benchmark run it: batch to the device,
 * forward (under autocast for bf16 / fp16), float32 loss, backward (loss-scaled for fp16),
 * SGD step. Tensors it returns belong to the caller's TensorScope.
 */
final class TrainStep {
    /** The batch's loss (a detached scalar) and logits (detached), on the device. */
    record Output(Tensor loss, Tensor logits) {}

    private final ShakeResNet model;
    private final Sgd sgd;
    private final List<Tensor> params;
    private final Device device;
    private final MemoryFormat format;
    private final Precision precision;
    private final LossScaler scaler;

    TrainStep(ShakeResNet model, Sgd sgd, Device device, MemoryFormat format, Precision precision) {
        this.model = model;
        this.sgd = sgd;
        this.params = model.parameters();
        this.device = device;
        this.format = format;
        this.precision = precision;
        this.scaler = precision == Precision.FP16 ? new LossScaler() : null;
    }

    /** Images (N,3,32,32) and labels (N) on the device; from pinned memory without blocking on CUDA. */
    Tensor[] upload(Batches.Batch batch) {
        boolean cuda = device.isCuda();
        Tensor host = cuda ? Tensor.fromFloatsPinned(batch.images(), batch.size(), 3, 32, 32)
                : Tensor.fromFloats(batch.images(), batch.size(), 3, 32, 32);
        Tensor x = host.to(device, null, format, cuda);
        Tensor y = Tensor.fromLongs(batch.labels(), batch.size()).to(device);
        return new Tensor[] {x, y};
    }

    /** Forward in the configured precision; logits come back as float32. */
    Tensor forward(Tensor x) {
        Tensor logits;
        try (Autocast amp = Autocast.enter(device, precision.autocastDtype())) {
            logits = model.forward(x); // (N,10)
        }
        return logits.dtype() == DType.FLOAT32 ? logits : logits.to(DType.FLOAT32);
    }

    Output run(Tensor x, Tensor y, double lr) {
        Tensor logits = forward(x);
        Tensor loss = Functional.crossEntropy(logits, y); // () float32
        model.zeroGrad();
        if (scaler == null) {
            loss.backward();
            sgd.step(lr);
        } else {
            loss.mul(scaler.scale()).backward();
            boolean overflow = ParameterUpdates.unscaleGradients(params, 1 / scaler.scale());
            if (scaler.update(overflow)) sgd.step(lr);
        }
        return new Output(loss.detach(), logits.detach());
    }

    /** The loss scaler's {scale, clean steps}, or null without one (for checkpoints). */
    double[] scalerState() {
        return scaler == null ? null : scaler.state();
    }

    void restoreScaler(double[] state) {
        if (scaler != null && state != null) scaler.restore(state);
    }
}
