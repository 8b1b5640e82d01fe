package dev.shakenet.train;

import dev.shakenet.nn.ShakeResNet;
import dev.shakenet.optim.Sgd;
import dev.shakenet.torch.Functional;
import dev.shakenet.torch.ParameterUpdates;
import dev.shakenet.torch.Tensor;
import java.util.List;

/**
 * One training update, as both the trainer and the benchmark run it: forward (ForwardPass),
 * float32 loss, backward (loss-scaled for fp16), SGD step. Tensors it returns belong to the
 * caller's TensorScope.
 */
public final class TrainStep {
    /** The batch's loss (a detached scalar) and logits (detached), on the device. */
    public record Output(Tensor loss, Tensor logits) {}

    private final ShakeResNet model;
    private final Sgd sgd;
    private final List<Tensor> params;
    private final ForwardPass forward;
    private final LossScaler scaler;

    public TrainStep(TrainingModel training) {
        this.model = training.model();
        this.sgd = training.sgd();
        this.params = model.parameters();
        this.forward = training.forwardPass();
        this.scaler = training.lossScaler();
    }

    public Output run(ForwardPass.DeviceBatch batch, double lr) {
        Tensor logits = forward.forward(batch.images());
        Tensor loss = Functional.crossEntropy(logits, batch.labels()); // () float32
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
}
