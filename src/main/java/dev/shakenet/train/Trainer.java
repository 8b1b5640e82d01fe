package dev.shakenet.train;

import dev.shakenet.data.Cifar;
import dev.shakenet.data.Batches;
import dev.shakenet.nn.Network;
import dev.shakenet.optim.LrSchedule;
import dev.shakenet.torch.Device;
import dev.shakenet.torch.Tensor;
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
 * <p>
 * In a data-parallel run every rank runs this loop on its share of each epoch; gradients are
 * averaged before the SGD step, the epoch's figures and the (sharded) evaluation summed over the
 * ranks, and rank 0 alone writes the run's files. A stop request is acted on where every rank
 * agrees to it, so all stop after the same step.
 */
public final class Trainer implements AutoCloseable {
    private static final Logger LOG = LogManager.getLogger(Trainer.class);

    /** Runs after every training step with its global update index; tests use it to ask for a stop at a chosen step. */
    static volatile java.util.function.LongConsumer afterStep = update -> {};

    private final RunConfig config;
    private final Cifar.Splits data;
    private final Device device;
    private final TrainingModel training;
    private final Network model;
    private final int stepsPerEpoch;
    private final LrSchedule schedule;
    private final Evaluator evaluator;
    private final TrainStep step;
    private final MetricsLog metrics;
    private TensorBoardLog events; // rank 0, tensorboard on
    private final Checkpoints checkpoints;
    private final Progress progress;
    private final Path runDir; // null on ranks other than 0, which write nothing
    private final DataParallel dp;
    private NonFiniteGuard guard; // set once, in the constructor
    private int startEpoch;
    private boolean resumed;          // started from a checkpoint, not yet said so
    private EpochTally resumedTally; // a mid-epoch checkpoint's figures, until its epoch runs
    private long savedUpdate;        // updates done at the newest checkpoint, counted as this run's world size deals batches
    private long updateOffset;       // updates done in all minus that count: non-zero after a resume on another world size
    private Path lastCheckpoint;
    private Double bestAccuracy;
    private Integer bestEpoch;

    /** A new run in {@code runDir}. */
    public Trainer(ResolvedRun run, Cifar.Splits data, Path runDir) throws IOException {
        this(run, data, runDir, null);
    }

    /** A run in {@code runDir}, continuing from {@code resumeFrom} when it is non-null. */
    public Trainer(ResolvedRun run, Cifar.Splits data, Path runDir, Checkpoint resumeFrom) throws IOException {
        this(run, data, runDir, resumeFrom, DataParallel.single());
    }

    /** Rank {@code dp.rank()} of a data-parallel run ({@code runDir} null on ranks other than 0). */
    public Trainer(ResolvedRun run, Cifar.Splits data, Path runDir, Checkpoint resumeFrom, DataParallel dp) throws IOException {
        this.config = run.config();
        this.data = data;
        this.runDir = runDir;
        this.dp = dp;
        this.device = run.device();
        RunConfig.Model m = config.model();
        training = TrainingModel.create(run);
        try {
            model = training.model();
            stepsPerEpoch = Batches.batchCount(Batches.shareSize(data.train().count(), dp.worldSize()), config.batchSize());
            schedule = Schedules.of(config, stepsPerEpoch);
            evaluator = new Evaluator(training.forwardPass(), config.evalBatchSize());
            guard = new NonFiniteGuard(config.nonfinite(), config.nonfinitePatience(), device, List.copyOf(model.namedBuffers().values()),
                    this::describeUpdate, "Likely fixes: a lower optimizer.lr, a warm-up (schedule.warmup_epochs)"
                            + (config.precision() == Precision.FP32 ? "" : ", precision fp32"), dp);
            step = new TrainStep(training, guard, dp);
            checkpoints = dp.isLeader() ? new Checkpoints(runDir, config.checkpoint().keepLast(), config.checkpoint().keepBest()) : null;
            progress = Progress.forConsole(config.epochs(), config.logInterval());
            if (resumeFrom != null) {
                restore(resumeFrom);
                lastCheckpoint = resumeFrom.file();
                if (dp.isLeader()) MetricsLog.truncateAfter(runDir, startEpoch);
            } else if (m.initFrom() != null) {
                initFrom(Path.of(m.initFrom()));
            }
            dp.copyFromLeader(model.stateDict().values()); // every rank starts from rank 0's parameters and buffers
            metrics = dp.isLeader() ? new MetricsLog(runDir) : null;
            if (dp.isLeader() && config.tensorboard()) {
                events = TensorBoardLog.open(runDir, config, resumeFrom != null ? savedUpdate + updateOffset + 1 : 0, resumeFrom != null);
            }
        } catch (IOException | RuntimeException e) {
            if (resumedTally != null) resumedTally.close();
            if (guard != null) guard.close();
            if (events != null) events.close();
            training.close(); // a checkpoint or weights file that does not fit: the model goes with the failed start
            throw e;
        }
        LOG.info("{} ({} parameters) on {} ({} engine, {} threads, {}, {}), {} training / {} test images, {} steps per epoch{}",
                m.title(), String.format("%,d", model.parameterCount()), device, training.engine().name(), Torch.numThreads(),
                config.memoryFormat().name().toLowerCase(), config.precision().name().toLowerCase(), data.train().count(), data.test().count(),
                stepsPerEpoch, dp.isDistributed() ? String.format(" on each of %d processes (%s, rank %d; %d images per step in all)",
                        dp.worldSize(), dp.backendName(), dp.rank(), config.batchSize() * dp.worldSize()) : "");
    }

    /** Runs the epochs of the config not done yet; returns their metrics. */
    public List<EpochMetrics> run() throws IOException {
        return runUntil(config.epochs());
    }

    /** Runs the epochs not done yet up to epoch {@code last} (1-based, inclusive), as if the run stopped there. */
    public List<EpochMetrics> runUntil(int last) throws IOException {
        List<EpochMetrics> all = new ArrayList<>();
        if (resumed && dp.isLeader()) {
            if (resumedTally == null) LOG.info("resuming after epoch {} of {}", startEpoch, config.epochs());
            else LOG.info("resuming in epoch {} of {}, after its batch {}", startEpoch + 1, config.epochs(), resumedTally.batchesDone());
        }
        resumed = false;
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
                     tally.batchesDone(), dp.rank(), dp.worldSize(), config.data().cutout())) {
            try {
                while (batches.hasNext()) {
                    checkStop(); // leave between two steps, never inside libtorch
                    Batches.Batch batch = batches.next();
                    long update = (long) epoch * stepsPerEpoch + batch.index();
                    try (TensorScope stepScope = TensorScope.open()) {
                        ForwardPass.DeviceBatch onDevice = training.forwardPass().upload(batch); // (N,3,32,32), (N)
                        TrainStep.Output out = step.run(onDevice, schedule.lr(update, epoch), update); // forward, loss, backward, check, SGD
                        tally.add(out, onDevice.labels(), batch.size());
                    }
                    afterStep.accept(update);
                    int done = batch.index() + 1;
                    boolean draw = dp.isLeader() && progress.due(done, batches.count());
                    boolean log = events != null && progress.atLogInterval(done, batches.count()); // on a terminal too
                    if (draw || log) {
                        guard.verify(); // the report synchronises anyway
                        // this rank's loss and accuracy; the images of every rank
                        double loss = tally.loss(), accuracy = tally.accuracy(); // one device read each, shared by the line and TensorBoard
                        double imagesPerSecond = tally.images() * dp.worldSize() / tally.seconds();
                        if (draw) progress.report(epoch, done, batches.count(), tally.images() * dp.worldSize(), tally.seconds(), loss, accuracy, 0);
                        if (log) events.interval(update + updateOffset + 1, loss, accuracy, schedule.lr(update, epoch), imagesPerSecond);
                    }
                }
                progress.endEpoch();
                guard.verify();
                trainSeconds = tally.seconds();
                if ((epoch + 1) % config.evalInterval() == 0 || epoch + 1 == config.epochs()) test = evaluate();
            } catch (StopRequest.Stopped stop) {
                progress.endEpoch();
                saveProgress(tally);
                throw stop;
            }
        }
        double lr = schedule.lr((long) epoch * stepsPerEpoch + stepsPerEpoch - 1, epoch);
        EpochTally.Totals totals = tally.total(dp);
        double trainLoss = totals.loss(), trainAccuracy = totals.accuracy();
        EpochMetrics line = new EpochMetrics(epoch + 1, lr, trainLoss, trainAccuracy, test == null ? null : test.loss(),
                test == null ? null : test.accuracy(), totals.images() / trainSeconds, tally.seconds(), tally.skipped());
        if (!dp.isLeader()) return line;
        metrics.write(line);
        if (events != null) events.epoch(line, (long) (epoch + 1) * stepsPerEpoch + updateOffset);
        drawCurves();
        LOG.info("epoch {}/{}  lr {}  train loss {} acc {}%  test {}  {} img/s  {} s{}", epoch + 1, config.epochs(),
                String.format("%.5f", lr), f4(trainLoss), f2(100 * trainAccuracy),
                test == null ? "-" : "loss " + f4(test.loss()) + " acc " + f2(100 * test.accuracy()) + "%",
                f1(line.imagesPerSecond()), f1(line.seconds()), tally.skipped() == 0 ? "" : "  " + tally.skipped() + " updates skipped (inf/NaN)");
        return line;
    }

    /**
     * Stops here if a stop was asked for: in a data-parallel run, if any rank was asked (every
     * rank asks at the same points, so all stop after the same step).
     */
    private void checkStop() {
        if (!dp.isDistributed()) {
            StopRequest.check();
            return;
        }
        StopRequest.Reason mine = StopRequest.requested();
        if (dp.any(mine != null)) throw new StopRequest.Stopped(mine != null ? mine : StopRequest.Reason.SIGTERM);
    }

    /**
     * The test evaluation. Data-parallel: rank 0's batch-norm statistics are copied to every rank
     * (the model a checkpoint holds), each rank evaluates its slice of the test set, and the sums
     * are added up; a stop asked for meanwhile is acted on after it, on every rank together.
     */
    private Evaluator.Result evaluate() {
        if (!dp.isDistributed()) return evaluator.evaluate(data.test());
        dp.copyFromLeader(model.namedBuffers().values());
        int n = data.test().count(), world = dp.worldSize(), rank = dp.rank();
        Evaluator.Result mine = evaluator.evaluate(data.test().slice((int) ((long) n * rank / world), (int) ((long) n * (rank + 1) / world)), false);
        Evaluator.Result all = mine.summedOver(dp);
        checkStop();
        return all;
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
        Map<String, Tensor> extra = new java.util.LinkedHashMap<>();
        if (tally != null) {
            tally.gatherForCheckpoint(dp);
            extra.putAll(tally.tensors());
        }
        if (dp.isDistributed()) {
            try (Tensor state = training.shakeGenerator().state()) {
                extra.put(Checkpoint.RNG_SHAKE_RANKS, dp.gather(state.toByteArray()).unscoped()); // every rank takes part
            }
        }
        savedUpdate = update;
        if (!dp.isLeader()) {
            extra.values().forEach(Tensor::close);
            return;
        }
        try (Checkpoint checkpoint = Checkpoint.capture(training, epochsDone, update + updateOffset, bestAccuracy, bestEpoch,
                tally == null ? null : tally.saved(guard.streak()), extra, dp.worldSize())) {
            lastCheckpoint = checkpoints.save(checkpoint, isBest);
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
        bestAccuracy = checkpoint.meta().bestTestAccuracy();
        bestEpoch = checkpoint.meta().bestEpoch();
        int before = checkpoint.meta().processes();
        if (before != dp.worldSize() && dp.isLeader()) {
            LOG.warn("the checkpoint was trained by {} process(es), this run has {}: batch_size {} per process makes {} images per step "
                            + "(it was {}); with the same optimizer.lr, scale it by the change if you follow the linear scaling rule",
                    before, dp.worldSize(), config.batchSize(), config.batchSize() * dp.worldSize(), config.batchSize() * before);
        }
        restoreShakeStream(checkpoint, before);
        EpochTally.Saved progress = checkpoint.meta().progress();
        if (progress != null) {
            // another world size deals the epoch out in other batches: continue after as many images as were seen
            int batches = (int) ((long) progress.batchesDone() * before / dp.worldSize());
            if (batches != progress.batchesDone()) {
                progress = new EpochTally.Saved(batches, progress.images(), progress.counted(), progress.skipped(), progress.skippedInARow(),
                        progress.seconds());
            }
            resumedTally = dp.isLeader() ? EpochTally.resume(startEpoch, device, progress, checkpoint.tensors())
                    : EpochTally.resumeOnOtherRank(startEpoch, device, progress);
            guard.restoreStreak(progress.skippedInARow());
        }
        savedUpdate = (long) startEpoch * stepsPerEpoch + (progress == null ? 0 : progress.batchesDone());
        updateOffset = checkpoint.meta().step() - savedUpdate; // TensorBoard's steps go on from the updates done in all
    }

    /** Rank r's shake generator from row r of the checkpoint's per-rank states (rank 0's is restored with the model). */
    private void restoreShakeStream(Checkpoint checkpoint, int before) {
        if (dp.isLeader()) return;
        Tensor all = checkpoint.tensors().get(Checkpoint.RNG_SHAKE_RANKS);
        if (all == null || before != dp.worldSize() || all.shape()[0] != before) {
            // it keeps the stream seeded for it: sound, but not the draws an uninterrupted run would have made
            LOG.warn("rank {}: the checkpoint (trained by {} process(es)) holds no shake-coefficient stream for this rank; it draws from a fresh one",
                    dp.rank(), before);
            return;
        }
        int n = (int) all.shape()[1];
        byte[] row = java.util.Arrays.copyOfRange(all.toByteArray(), dp.rank() * n, (dp.rank() + 1) * n);
        try (Tensor state = Tensor.fromBytes(row, n)) {
            training.shakeGenerator().setState(state);
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

    public Network model() {
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
        if (metrics != null) metrics.close();
        if (events != null) events.close();
        training.close();
    }
}
