package dev.shakenet.train;

import dev.shakenet.tensorboard.EventWriter;
import java.io.IOException;
import java.nio.file.Path;

/**
 * A training run's TensorBoard scalars and config, under the names a PyTorch user would pick. A
 * failed write stops the run naming the event file, as a failed metrics.jsonl line does.
 */
final class TensorBoardLog implements AutoCloseable {
    private final EventWriter events;

    private TensorBoardLog(EventWriter events) {
        this.events = events;
    }

    /**
     * A new event file in {@code runDir} holding the resolved config at {@code firstUpdate}: 0 for
     * a new run; for a resume the first update after its checkpoint, marked by a SessionLog START
     * so TensorBoard drops what older files hold from there on (it is written again).
     */
    static TensorBoardLog open(Path runDir, RunConfig config, long firstUpdate, boolean resumed) throws FileWriteException {
        EventWriter events;
        try {
            events = EventWriter.open(runDir);
        } catch (IOException e) {
            throw FileWriteException.of(runDir.resolve(EventWriter.PREFIX + "*"), e, 0, OFF);
        }
        TensorBoardLog log = new TensorBoardLog(events);
        try {
            log.write(() -> {
                if (resumed) events.sessionStart(firstUpdate);
                // the tag PyTorch's add_text("config", ...) writes
                events.text("config/text_summary", firstUpdate, EventWriter.preformatted(ConfigLoader.toJson(config)));
            });
        } catch (FileWriteException e) {
            try {
                events.close();
            } catch (IOException alsoFailed) {
                e.addSuppressed(alsoFailed);
            }
            throw e;
        }
        return log;
    }

    private static final String OFF = "tensorboard: false runs without event files";

    /** A log interval's figures, after {@code updates} updates. */
    void interval(long updates, double loss, double accuracy, double lr, double imagesPerSecond) throws FileWriteException {
        write(() -> {
            events.scalar("train/loss", updates, loss);
            events.scalar("train/accuracy", updates, accuracy);
            events.scalar("lr", updates, lr);
            events.scalar("images_per_second", updates, imagesPerSecond);
        });
    }

    /** An epoch's metrics.jsonl figures at the update count that ends it. */
    void epoch(EpochMetrics line, long updates) throws FileWriteException {
        write(() -> {
            events.scalar("epoch/train_loss", updates, line.trainLoss());
            events.scalar("epoch/train_accuracy", updates, line.trainAccuracy());
            if (line.testLoss() != null) events.scalar("epoch/test_loss", updates, line.testLoss());
            if (line.testAccuracy() != null) events.scalar("epoch/test_accuracy", updates, line.testAccuracy());
        });
    }

    private interface Records {
        void write() throws IOException;
    }

    /** Writes and flushes, so a running TensorBoard sees the points at once. */
    private void write(Records records) throws FileWriteException {
        try {
            records.write();
            events.flush();
        } catch (IOException e) {
            throw FileWriteException.of(events.file(), e, 0, "its earlier records are kept (TensorBoard skips a torn last one); " + OFF);
        }
    }

    @Override
    public void close() throws IOException {
        events.close();
    }
}
