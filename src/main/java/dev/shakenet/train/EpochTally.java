package dev.shakenet.train;

import dev.shakenet.torch.DType;
import dev.shakenet.torch.Device;
import dev.shakenet.torch.Functional;
import dev.shakenet.torch.Tensor;
import java.util.Map;

/**
 * The running figures of one training epoch: loss and correct predictions summed on the device
 * (read only when reporting), images, skipped updates and time on the host. A mid-epoch
 * checkpoint keeps them, so the epoch a resumed run finishes reports what an uninterrupted one
 * would.
 */
final class EpochTally implements AutoCloseable {
    static final String LOSS_SUM = "progress.loss_sum";
    static final String CORRECT = "progress.correct";

    /**
     * The host-side part, in a checkpoint's meta.json: batches done in the epoch, images seen,
     * images counted in the loss and accuracy (skipped batches are not), skipped updates, skipped
     * updates in a row at the end, and the epoch's training seconds so far.
     */
    record Saved(int batchesDone, long images, long counted, long skipped, int skippedInARow, double seconds) {}

    final int epoch;
    private final Tensor lossSum; // float64 scalar on the device
    private final Tensor correct; // int64 scalar on the device
    private int batchesDone;
    private long images, counted, skipped;
    private final double secondsBefore;
    private final long startNanos = System.nanoTime();

    private EpochTally(int epoch, Tensor lossSum, Tensor correct, Saved saved) {
        this.epoch = epoch;
        this.lossSum = lossSum.unscoped();
        this.correct = correct.unscoped();
        batchesDone = saved.batchesDone();
        images = saved.images();
        counted = saved.counted();
        skipped = saved.skipped();
        secondsBefore = saved.seconds();
    }

    /** Epoch {@code epoch} (0-based) from its first batch. */
    static EpochTally start(int epoch, Device device) {
        return new EpochTally(epoch, Tensor.zeros(DType.FLOAT64, device), Tensor.zeros(DType.INT64, device), new Saved(0, 0, 0, 0, 0, 0));
    }

    /** Epoch {@code epoch} continued from a checkpoint's {@code saved} figures and tensors. */
    static EpochTally resume(int epoch, Device device, Saved saved, Map<String, Tensor> tensors) {
        Tensor loss = tensors.get(LOSS_SUM), right = tensors.get(CORRECT);
        if (loss == null || right == null) throw new CheckpointException("the mid-epoch checkpoint lacks " + LOSS_SUM + " or " + CORRECT);
        return new EpochTally(epoch, onDevice(loss, device), onDevice(right, device), saved);
    }

    /** A copy of {@code t} on {@code device} that this tally owns. */
    private static Tensor onDevice(Tensor t, Device device) {
        try (Tensor moved = t.to(device)) {
            return moved.copy().unscoped();
        }
    }

    /** Counts one trained batch; a skipped update's batch counts as seen but not in the loss and accuracy. */
    void add(TrainStep.Output out, Tensor labels, int size) {
        batchesDone++;
        images += size;
        if (!out.applied()) {
            skipped++;
            return;
        }
        counted += size;
        lossSum.addInPlace(out.loss().mul(size));
        correct.addInPlace(Functional.countCorrect(out.logits(), labels));
    }

    int batchesDone() {
        return batchesDone;
    }

    long images() {
        return images;
    }

    long skipped() {
        return skipped;
    }

    /** Mean training loss so far (NaN before any counted batch); one device synchronisation. */
    double loss() {
        return lossSum.item() / counted;
    }

    double accuracy() {
        return correct.item() / (double) counted;
    }

    double seconds() {
        return secondsBefore + (System.nanoTime() - startNanos) / 1e9;
    }

    /** The epoch's figures over every rank of a data-parallel run (this rank's alone in a single process). */
    record Totals(double loss, double accuracy, long images) {}

    /** Sums the ranks' figures (every rank calls it at the same point); one device synchronisation. */
    Totals total(DataParallel dp) {
        double[] sums = dp.sum(new double[] {lossSum.item(), correct.item(), counted, images});
        return new Totals(sums[0] / sums[2], sums[1] / sums[2], (long) sums[3]);
    }

    /**
     * Before a mid-epoch checkpoint of a data-parallel run: rank 0's sums and counts become those
     * of every rank (the checkpoint is rank 0's), so the resumed epoch reports what an
     * uninterrupted one would. The tally is not trained on after this.
     */
    void gatherForCheckpoint(DataParallel dp) {
        if (!dp.isDistributed()) return;
        double[] sums = dp.sum(new double[] {lossSum.item(), correct.item(), counted, images});
        try (Tensor loss = Tensor.full(sums[0], DType.FLOAT64, lossSum.device()); Tensor right = Tensor.full(sums[1], DType.INT64, correct.device())) {
            lossSum.copyFrom(loss);
            correct.copyFrom(right);
        }
        counted = (long) sums[2];
        images = (long) sums[3];
    }

    /** Epoch {@code epoch} continued by a rank other than 0 from a mid-epoch checkpoint: its batches done, nothing summed yet (rank 0 holds the sums). */
    static EpochTally resumeOnOtherRank(int epoch, Device device, Saved saved) {
        return new EpochTally(epoch, Tensor.zeros(DType.FLOAT64, device), Tensor.zeros(DType.INT64, device),
                new Saved(saved.batchesDone(), 0, 0, 0, saved.skippedInARow(), 0));
    }

    /** The host-side figures for a checkpoint; {@code skippedInARow} comes from the run's guard. */
    Saved saved(int skippedInARow) {
        return new Saved(batchesDone, images, counted, skipped, skippedInARow, seconds());
    }

    /** The device sums for a checkpoint, sharing storage with this tally (write the checkpoint before training goes on). */
    Map<String, Tensor> tensors() {
        return Map.of(LOSS_SUM, lossSum.detach().unscoped(), CORRECT, correct.detach().unscoped());
    }

    @Override
    public void close() {
        lossSum.close();
        correct.close();
    }
}
