package dev.shakenet.train;

import dev.shakenet.data.Batches;
import dev.shakenet.data.Cifar10;
import dev.shakenet.nn.ShakeResNet;
import dev.shakenet.optim.LrSchedule;
import dev.shakenet.torch.Device;
import dev.shakenet.torch.TensorFiles;
import dev.shakenet.torch.TensorScope;
import dev.shakenet.torch.Torch;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * Trains a Shake-Shake ResNet as a run config says: per step set the learning rate, forward,
 * loss, backward, SGD step; per epoch a test evaluation (every eval_interval epochs), one line
 * of metrics.jsonl, one log line and a checkpoint (every checkpoint.interval epochs).
 */
public final class Trainer implements AutoCloseable {
    private static final Logger LOG = LogManager.getLogger(Trainer.class);

    /** Runs after every training step with its global update index; tests use it to ask for a stop at a chosen step. */
    static volatile java.util.function.LongConsumer afterStep = update -> {};

    private final RunConfig config;
    private final Cifar10.Splits data;
    private final Device device;
    private final TrainingModel training;
    private final ShakeResNet model;
    private final int stepsPerEpoch;
    private final LrSchedule schedule;
    private final Evaluator evaluator;
    private final TrainStep step;
    private final MetricsLog metrics;
    private final Checkpoints checkpoints;
    private final Progress progress;
    private final Path runDir;
    private NonFiniteGuard guard; // set once, in the constructor
    private int startEpoch;
    private boolean resumed;          // started from a checkpoint, not yet said so
    private EpochTally resumedTally; // a mid-epoch checkpoint's figures, until its epoch runs
    private long savedUpdate;        // updates done at the newest checkpoint
    private Path lastCheckpoint;
    private Double bestAccuracy;
    private Integer bestEpoch;

    /** A new run in {@code runDir}. */
    public Trainer(ResolvedRun run, Cifar10.Splits data, Path runDir) throws IOException {
        this(run, data, runDir, null);
    }

    /** A run in {@code runDir}, continuing from {@code resumeFrom} when it is non-null. */
    public Trainer(ResolvedRun run, Cifar10.Splits data, Path runDir, Checkpoint resumeFrom) throws IOException {
        this.config = run.config();
        this.data = data;
        this.runDir = runDir;
        this.device = run.device();
        RunConfig.Model m = config.model();
        training = TrainingModel.create(run);
        try {
            model = training.model();
            stepsPerEpoch = Batches.batchCount(data.train().count(), config.batchSize());
            schedule = Schedules.of(config, stepsPerEpoch);
            evaluator = new Evaluator(training.forwardPass(), config.evalBatchSize());
            guard = new NonFiniteGuard(config.nonfinite(), config.nonfinitePatience(), device, List.copyOf(model.namedBuffers().values()),
                    this::describeUpdate, "Likely fixes: a lower optimizer.lr, a warm-up (schedule.warmup_epochs)"
                            + (config.precision() == Precision.FP32 ? "" : ", precision fp32"));
            step = new TrainStep(training, guard);
            checkpoints = new Checkpoints(runDir, config.checkpoint().keepLast(), config.checkpoint().keepBest());
            progress = Progress.forConsole(config.epochs(), config.logInterval());
            if (resumeFrom != null) {
                restore(resumeFrom);
                lastCheckpoint = resumeFrom.file();
                MetricsLog.truncateAfter(runDir, startEpoch);
            } else if (m.initFrom() != null) {
                initFrom(Path.of(m.initFrom()));
            }
            metrics = new MetricsLog(runDir);
        } catch (IOException | RuntimeException e) {
            if (resumedTally != null) resumedTally.close();
            if (guard != null) guard.close();
            training.close(); // a checkpoint or weights file that does not fit: the model goes with the failed start
            throw e;
        }
        LOG.info("Shake-Shake-{} 2x{}d ({} parameters) on {} ({} engine, {} threads, {}, {}), {} training / {} test images, {} steps per epoch",
                m.depth(), m.width(), String.format("%,d", model.parameterCount()), device, training.engine().name(), Torch.numThreads(),
                config.memoryFormat().name().toLowerCase(), config.precision().name().toLowerCase(), data.train().count(), data.test().count(),
                stepsPerEpoch);
    }

    /** Runs the epochs of the config not done yet; returns their metrics. */
    public List<EpochMetrics> run() throws IOException {
        return runUntil(config.epochs());
    }

    /** Runs the epochs not done yet up to epoch {@code last} (1-based, inclusive), as if the run stopped there. */
    public List<EpochMetrics> runUntil(int last) throws IOException {
        List<EpochMetrics> all = new ArrayList<>();
        if (resumed) {
            resumed = false;
            if (resumedTally == null) LOG.info("resuming after epoch {} of {}", startEpoch, config.epochs());
            else LOG.info("resuming in epoch {} of {}, after its batch {}", startEpoch + 1, config.epochs(), resumedTally.batchesDone());
        }
        for (int epoch = startEpoch; epoch < Math.min(last, config.epochs()); epoch++) {
            EpochMetrics line;
            try (EpochTally tally = resumedTally != null ? resumedTally : EpochTally.start(epoch, device)) {
                resumedTally = null;
                line = runEpoch(tally);
            }
            all.add(line);
            startEpoch = epoch + 1;
            boolean isBest = line.testAccuracy() != null && Double.isFinite(line.testAccuracy())
                    && (bestAccuracy == null || line.testAccuracy() > bestAccuracy);
            if (isBest) {
                bestAccuracy = line.testAccuracy();
                bestEpoch = epoch + 1;
            }
            // The metrics line is written first: a crash between the two redoes the epoch on resume.
            if (isBest || (epoch + 1) % config.checkpoint().interval() == 0 || epoch + 1 == config.epochs()) save(epoch + 1, null, isBest);
        }
        return all;
    }

    /**
     * Trains the rest of the tally's epoch, evaluates, writes its metrics line. A stop request
     * (SIGINT, SIGTERM) between two steps or during the evaluation writes a checkpoint of the
     * steps done, then ends the run.
     */
    private EpochMetrics runEpoch(EpochTally tally) throws IOException {
        int epoch = tally.epoch;
        model.train(true);
        Evaluator.Result test = null;
        double trainSeconds;
        try (TensorScope epochScope = TensorScope.open();
             Batches batches = Batches.training(data.train(), config.batchSize(), config.seed(), epoch, config.data().augment(), device.isCuda(),
                     tally.batchesDone())) {
            try {
                while (batches.hasNext()) {
                    StopRequest.check(); // leave between two steps, never inside libtorch
                    Batches.Batch batch = batches.next();
                    long update = (long) epoch * stepsPerEpoch + batch.index();
                    try (TensorScope stepScope = TensorScope.open()) {
                        ForwardPass.DeviceBatch onDevice = training.forwardPass().upload(batch); // (N,3,32,32), (N)
                        TrainStep.Output out = step.run(onDevice, schedule.lr(update, epoch), update); // forward, loss, backward, check, SGD
                        tally.add(out, onDevice.labels(), batch.size());
                    }
                    afterStep.accept(update);
                    if (progress.due(batch.index() + 1, batches.count())) {
                        guard.verify(); // the report synchronises anyway
                        progress.report(epoch, batch.index() + 1, batches.count(), tally.images(), tally.seconds(), tally.loss(), tally.accuracy(), 0);
                    }
                }
                progress.endEpoch();
                guard.verify();
                trainSeconds = tally.seconds();
                if ((epoch + 1) % config.evalInterval() == 0 || epoch + 1 == config.epochs()) test = evaluator.evaluate(data.test());
            } catch (StopRequest.Stopped stop) {
                progress.endEpoch();
                saveProgress(tally);
                throw stop;
            }
        }
        double lr = schedule.lr((long) epoch * stepsPerEpoch + stepsPerEpoch - 1, epoch);
        double trainLoss = tally.loss(), trainAccuracy = tally.accuracy();
        EpochMetrics line = new EpochMetrics(epoch + 1, lr, trainLoss, trainAccuracy, test == null ? null : test.loss(),
                test == null ? null : test.accuracy(), tally.images() / trainSeconds, tally.seconds(), tally.skipped());
        metrics.write(line);
        drawCurves();
        LOG.info("epoch {}/{}  lr {}  train loss {} acc {}%  test {}  {} img/s  {} s{}", epoch + 1, config.epochs(),
                String.format("%.5f", lr), f4(trainLoss), f2(100 * trainAccuracy),
                test == null ? "-" : "loss " + f4(test.loss()) + " acc " + f2(100 * test.accuracy()) + "%",
                f1(line.imagesPerSecond()), f1(line.seconds()), tally.skipped() == 0 ? "" : "  " + tally.skipped() + " updates skipped (inf/NaN)");
        return line;
    }

    /** Redraws curves.png; a failure to draw is logged, never fatal to training. */
    private void drawCurves() {
        try {
            dev.shakenet.plot.Curves.drawRun(runDir);
        } catch (IOException | RuntimeException e) {
            LOG.warn("could not draw {}: {}", dev.shakenet.plot.Curves.FILE, e.toString());
        }
    }

    // ---- checkpoints ------------------------------------------------------------------------

    /** A checkpoint after {@code epochsDone} epochs, and {@code tally}'s batches of the next one when non-null. */
    private void save(int epochsDone, EpochTally tally, boolean isBest) throws IOException {
        long update = (long) epochsDone * stepsPerEpoch + (tally == null ? 0 : tally.batchesDone());
        try (Checkpoint checkpoint = Checkpoint.capture(training, epochsDone, update, bestAccuracy, bestEpoch,
                tally == null ? null : tally.saved(guard.streak()), tally == null ? Map.of() : tally.tensors())) {
            lastCheckpoint = checkpoints.save(checkpoint, isBest);
            savedUpdate = update;
            LOG.info("checkpoint {}{}", lastCheckpoint, isBest ? " (best so far)" : "");
        }
    }

    /** On a stop request: a checkpoint of the steps done since the newest one, unless there are none. */
    private void saveProgress(EpochTally tally) throws IOException {
        long update = (long) tally.epoch * stepsPerEpoch + tally.batchesDone();
        if (update == savedUpdate) return;
        guard.verify(); // stop: a step with inf or NaN since the last report ends the run here, without a checkpoint
        if (tally.batchesDone() == 0) save(tally.epoch, null, false);
        else save(tally.epoch, tally, false);
    }

    private void restore(Checkpoint checkpoint) {
        checkpoint.restore(training);
        resumed = true;
        startEpoch = checkpoint.meta().epoch();
        savedUpdate = checkpoint.meta().step();
        bestAccuracy = checkpoint.meta().bestTestAccuracy();
        bestEpoch = checkpoint.meta().bestEpoch();
        EpochTally.Saved progress = checkpoint.meta().progress();
        if (progress != null) {
            resumedTally = EpochTally.resume(startEpoch, device, progress, checkpoint.tensors());
            guard.restoreStreak(progress.skippedInARow());
        }
    }

    /** The newest checkpoint this trainer wrote or resumed from (null before any). */
    public Path lastCheckpoint() {
        return lastCheckpoint;
    }

    /** Starts from a weights file (PyTorch format, the model's names) instead of the paper's initialization. */
    private void initFrom(Path weights) {
        try (TensorScope scope = TensorScope.open()) {
            model.loadStateDict(TensorFiles.load(weights));
        } catch (IllegalArgumentException e) {
            throw new CheckpointException("model.init_from: " + weights + " does not fit Shake-Shake-" + config.model().depth() + " 2x"
                    + config.model().width() + "d: " + e.getMessage());
        } catch (IOException | RuntimeException e) {
            throw new CheckpointException("model.init_from: cannot read " + weights + ": " + e.getMessage());
        }
        LOG.info("initialized from {}", weights);
    }

    /** "epoch E, step S of N (update U), learning rate L" for global update index {@code update}, in messages. */
    private String describeUpdate(long update) {
        int epoch = (int) (update / stepsPerEpoch);
        return "epoch " + (epoch + 1) + ", step " + (update % stepsPerEpoch + 1) + " of " + stepsPerEpoch + " (update " + (update + 1)
                + " of the run), learning rate " + new java.math.BigDecimal(schedule.lr(update, epoch)).round(new java.math.MathContext(6))
                .stripTrailingZeros().toPlainString();
    }

    public ShakeResNet model() {
        return model;
    }

    private static String f1(double v) {
        return String.format("%.1f", v);
    }

    private static String f2(double v) {
        return String.format("%.2f", v);
    }

    private static String f4(double v) {
        return String.format("%.4f", v);
    }

    @Override
    public void close() throws IOException {
        if (resumedTally != null) resumedTally.close();
        guard.close();
        metrics.close();
        training.close();
    }
}
