package dev.shakenet.train;

import dev.shakenet.torch.Device;
import dev.shakenet.torch.NonFinite;
import dev.shakenet.torch.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongFunction;

/**
 * A run's nonfinite policy, applied to every training step: the loss, the batch norm statistics
 * and the gradients are checked on the device before the update. {@code stop}: the check is recorded without waiting
 * and read where the trainer synchronises anyway (a progress report, the end of the epoch, a
 * checkpoint), and the run ends there. {@code skip}: read every step, as GradScaler does (one
 * synchronisation per CUDA step); the update is dropped and the batch norm statistics that
 * batch moved are put back; the run ends after {@code patience} such steps in a row. In a
 * data-parallel run a step is skipped on every rank when any rank saw an inf or NaN, so the ranks
 * keep applying the same updates.
 */
final class NonFiniteGuard implements AutoCloseable {
    private final RunConfig.NonFinitePolicy policy;
    private final int patience;
    private final NonFinite record;
    private final List<Tensor> statistics;      // the model's buffers (batch norm running statistics), checked with the loss
    private final List<Tensor> restorable;      // skip: the same, put back after a skipped step
    private final List<Tensor> savedStatistics; // skip: their values before the step
    private final LongFunction<String> describeStep;
    private final String fixes;
    private final DataParallel dp;
    private long recorded;
    private int streak;

    /**
     * {@code describeStep}: "epoch E, step S of N, learning rate L" for a global update index;
     * {@code fixes}: what the messages suggest.
     */
    NonFiniteGuard(RunConfig.NonFinitePolicy policy, int patience, Device device, List<Tensor> statistics, LongFunction<String> describeStep,
                   String fixes) {
        this(policy, patience, device, statistics, describeStep, fixes, DataParallel.single());
    }

    /** As above, for rank {@code dp.rank()} of a data-parallel run. */
    NonFiniteGuard(RunConfig.NonFinitePolicy policy, int patience, Device device, List<Tensor> statistics, LongFunction<String> describeStep,
                   String fixes, DataParallel dp) {
        this.dp = dp;
        this.fixes = fixes;
        this.policy = policy;
        this.patience = patience;
        this.record = new NonFinite(device);
        this.describeStep = describeStep;
        this.statistics = List.copyOf(statistics);
        this.restorable = policy == RunConfig.NonFinitePolicy.SKIP ? this.statistics : List.of();
        this.savedStatistics = new ArrayList<>();
        for (Tensor t : restorable) savedStatistics.add(Tensor.zerosLike(t).unscoped());
    }

    /** Before the forward pass: keeps the statistics a skipped step puts back. */
    void beforeStep() {
        for (int i = 0; i < restorable.size(); i++) savedStatistics.get(i).copyFrom(restorable.get(i));
    }

    /**
     * After backward, before the update of global step {@code step}: records whether {@code loss},
     * the batch norm statistics or the gradients of {@code gradientsOf} hold an inf or NaN;
     * returns whether the update may be applied.
     */
    boolean admit(long step, Tensor loss, List<Tensor> gradientsOf) {
        List<Tensor> values = new ArrayList<>(statistics.size() + 1);
        values.add(loss);
        values.addAll(statistics);
        record.record(step, values, gradientsOf);
        if (policy == RunConfig.NonFinitePolicy.STOP) return true;
        long now = record.read().steps();
        boolean bad = dp.any(now != recorded); // every rank skips together, or none does
        recorded = now;
        if (!bad) {
            streak = 0;
            return true;
        }
        for (int i = 0; i < restorable.size(); i++) restorable.get(i).copyFrom(savedStatistics.get(i));
        if (++streak >= patience) {
            throw new NonFiniteException("the loss, gradients or batch norm statistics held inf or NaN in " + streak + " steps in a row (nonfinite_patience), the last at "
                    + describeStep.apply(step) + ": the run stopped; its checkpoints hold only finite values. " + fixes + ".");
        }
        return false;
    }

    /** stop: throws when a step since the run (re)started held an inf or NaN. One device synchronisation. */
    void verify() {
        if (policy != RunConfig.NonFinitePolicy.STOP) return;
        NonFinite.Count count = record.read();
        if (count.any()) {
            throw new NonFiniteException("the loss, gradients or batch norm statistics hold inf or NaN at " + describeStep.apply(count.firstStep())
                    + ": the run stopped (nonfinite: stop) and wrote no checkpoint after that step. " + fixes + ", or nonfinite: skip to drop such steps");
        }
    }

    /** Skipped steps in a row so far (carried across a mid-epoch checkpoint). */
    int streak() {
        return streak;
    }

    void restoreStreak(int streak) {
        this.streak = streak;
    }


    @Override
    public void close() {
        record.close();
        savedStatistics.forEach(Tensor::close);
    }
}
