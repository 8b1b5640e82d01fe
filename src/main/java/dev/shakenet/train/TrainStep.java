package dev.shakenet.train;

import dev.shakenet.nn.Network;
import dev.shakenet.optim.Sgd;
import dev.shakenet.torch.Functional;
import dev.shakenet.torch.ParameterUpdates;
import dev.shakenet.torch.Tensor;
import java.util.List;

/**
 * One training update, as both the trainer and the benchmark run it: forward (ForwardPass),
 * float32 loss, backward (loss-scaled for fp16), in a data-parallel run the gradients averaged
 * over the ranks, the non-finite check, SGD step. Tensors it
 * returns belong to the caller's TensorScope.
 */
public final class TrainStep implements AutoCloseable {
    /** The batch's loss (a detached scalar) and logits (detached), on the device, and whether the update was applied. */
    public record Output(Tensor loss, Tensor logits, boolean applied) {}

    private final Network model;
    private final Sgd sgd;
    private final List<Tensor> params;
    private final ForwardPass forward;
    private final LossScaler scaler;
    private final NonFiniteGuard guard;
    private final boolean ownsGuard;
    private final DataParallel dp;
    private long allreduceNanos; // spent averaging gradients, over the steps run

    /** With the config's nonfinite policy, its messages naming the update only (the benchmark's). */
    public TrainStep(TrainingModel training) {
        this(training, new NonFiniteGuard(training.config().nonfinite(), training.config().nonfinitePatience(), training.device(),
                List.copyOf(training.model().namedBuffers().values()), step -> "update " + (step + 1), "Likely fixes: a lower optimizer.lr, a warm-up (schedule.warmup_epochs)"), true,
                DataParallel.single());
    }

    /** As above, as rank {@code dp.rank()} of a data-parallel run (the benchmark's). */
    public TrainStep(TrainingModel training, DataParallel dp) {
        this(training, new NonFiniteGuard(training.config().nonfinite(), training.config().nonfinitePatience(), training.device(),
                List.copyOf(training.model().namedBuffers().values()), step -> "update " + (step + 1), "Likely fixes: a lower optimizer.lr, a warm-up (schedule.warmup_epochs)",
                dp), true, dp);
    }

    /** With the trainer's guard, which outlives the step. */
    TrainStep(TrainingModel training, NonFiniteGuard guard, DataParallel dp) {
        this(training, guard, false, dp);
    }

    private TrainStep(TrainingModel training, NonFiniteGuard guard, boolean ownsGuard, DataParallel dp) {
        this.ownsGuard = ownsGuard;
        this.dp = dp;
        this.model = training.model();
        this.sgd = training.sgd();
        this.params = model.parameters();
        this.forward = training.forwardPass();
        this.scaler = training.lossScaler();
        this.guard = guard;
    }

    /** The update of global step {@code step} (0-based, counted over the run) at learning rate {@code lr}. */
    public Output run(ForwardPass.DeviceBatch batch, double lr, long step) {
        guard.beforeStep();
        Tensor logits = forward.forward(batch.images());
        Tensor loss = Functional.crossEntropy(logits, batch.labels()); // () float32
        model.zeroGrad();
        boolean applied;
        if (scaler == null) {
            loss.backward();
            averageGradients();
            applied = guard.admit(step, loss, params);
            if (applied) sgd.step(lr);
        } else {
            // float16: an overflowing gradient is the loss scaler's to skip (GradScaler's rule); the guard watches the loss.
            loss.mul(scaler.scale()).backward();
            averageGradients(); // an overflow on any rank reaches every rank's mean, so all skip together
            boolean overflow = ParameterUpdates.unscaleGradients(params, 1 / scaler.scale());
            applied = guard.admit(step, loss, List.of()) && scaler.update(overflow);
            if (applied) sgd.step(lr);
        }
        return new Output(loss.detach(), logits.detach(), applied);
    }

    /** Data-parallel: every gradient becomes its mean over the ranks, before the check and the SGD step see it. */
    private void averageGradients() {
        if (!dp.isDistributed()) return;
        long start = System.nanoTime();
        dp.averageGradients(params);
        allreduceNanos += System.nanoTime() - start;
    }

    /** Seconds spent averaging gradients over the ranks so far (0 alone). */
    public double allreduceSeconds() {
        return allreduceNanos / 1e9;
    }

    @Override
    public void close() {
        if (ownsGuard) guard.close();
    }
}
