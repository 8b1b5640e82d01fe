package dev.shakenet.train;

import dev.shakenet.data.Batches;
import dev.shakenet.data.Cifar10;
import dev.shakenet.nn.ShakeResNet;
import dev.shakenet.optim.LrSchedule;
import dev.shakenet.torch.DType;
import dev.shakenet.torch.Device;
import dev.shakenet.torch.Functional;
import dev.shakenet.torch.Tensor;
import dev.shakenet.torch.TensorFiles;
import dev.shakenet.torch.TensorScope;
import dev.shakenet.torch.Torch;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * Trains a Shake-Shake ResNet as a run config says: per step set the learning rate, forward,
 * loss, backward, SGD step; per epoch a test evaluation (every eval_interval epochs), one line
 * of metrics.jsonl, one log line and a checkpoint (every checkpoint.interval epochs).
 */
public final class Trainer implements AutoCloseable {
    private static final Logger LOG = LogManager.getLogger(Trainer.class);

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
    private int startEpoch;
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
            step = new TrainStep(training);
            checkpoints = new Checkpoints(runDir, config.checkpoint().keepLast(), config.checkpoint().keepBest());
            progress = Progress.forConsole(config.epochs(), config.logInterval());
            if (resumeFrom != null) {
                restore(resumeFrom);
                MetricsLog.truncateAfter(runDir, startEpoch);
            } else if (m.initFrom() != null) {
                initFrom(Path.of(m.initFrom()));
            }
            metrics = new MetricsLog(runDir);
        } catch (IOException | RuntimeException e) {
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
        if (startEpoch > 0) LOG.info("resuming after epoch {} of {}", startEpoch, config.epochs());
        for (int epoch = startEpoch; epoch < Math.min(last, config.epochs()); epoch++) {
            EpochMetrics line = runEpoch(epoch);
            all.add(line);
            startEpoch = epoch + 1;
            boolean isBest = line.testAccuracy() != null && (bestAccuracy == null || line.testAccuracy() > bestAccuracy);
            if (isBest) {
                bestAccuracy = line.testAccuracy();
                bestEpoch = epoch + 1;
            }
            // The metrics line is written first: a crash between the two redoes the epoch on resume.
            if (isBest || (epoch + 1) % config.checkpoint().interval() == 0 || epoch + 1 == config.epochs()) save(epoch + 1, isBest);
        }
        return all;
    }

    private EpochMetrics runEpoch(int epoch) {
        long start = System.nanoTime();
        model.train(true);
        double lr = 0;
        long images = 0;
        try (TensorScope epochScope = TensorScope.open();
             Batches batches = Batches.training(data.train(), config.batchSize(), config.seed(), epoch, config.data().augment(), device.isCuda())) {
            // Summed on the device and read only when reporting: no host synchronisation per step.
            Tensor lossSum = Tensor.zeros(DType.FLOAT64, device);
            Tensor correct = Tensor.zeros(DType.INT64, device);
            while (batches.hasNext()) {
                StopRequest.check(); // Ctrl-C / SIGTERM: leave between two steps, never inside libtorch
                Batches.Batch batch = batches.next();
                lr = schedule.lr((long) epoch * stepsPerEpoch + batch.index(), epoch);
                try (TensorScope stepScope = TensorScope.open()) {
                    ForwardPass.DeviceBatch onDevice = training.forwardPass().upload(batch); // (N,3,32,32), (N)
                    TrainStep.Output out = step.run(onDevice, lr);                         // forward, loss, backward, SGD
                    lossSum.addInPlace(out.loss().mul(batch.size()));
                    correct.addInPlace(Functional.countCorrect(out.logits(), onDevice.labels()));
                }
                images += batch.size();
                if (progress.due(batch.index() + 1, batches.count())) {
                    progress.report(epoch, batch.index() + 1, batches.count(), images, (System.nanoTime() - start) / 1e9,
                            lossSum.item() / images, correct.item() / images, 0);
                }
            }
            progress.endEpoch();
            double trainSeconds = (System.nanoTime() - start) / 1e9;
            double trainLoss = lossSum.item() / images, trainAccuracy = correct.item() / images;
            Evaluator.Result test = null;
            if ((epoch + 1) % config.evalInterval() == 0 || epoch + 1 == config.epochs()) test = evaluator.evaluate(data.test());
            EpochMetrics line = new EpochMetrics(epoch + 1, lr, trainLoss, trainAccuracy, test == null ? null : test.loss(),
                    test == null ? null : test.accuracy(), images / trainSeconds, (System.nanoTime() - start) / 1e9);
            metrics.write(line);
            drawCurves();
            LOG.info("epoch {}/{}  lr {}  train loss {} acc {}%  test {}  {} img/s  {} s", epoch + 1, config.epochs(),
                    String.format("%.5f", lr), f4(trainLoss), f2(100 * trainAccuracy),
                    test == null ? "-" : "loss " + f4(test.loss()) + " acc " + f2(100 * test.accuracy()) + "%",
                    f1(line.imagesPerSecond()), f1(line.seconds()));
            return line;
        }
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

    private void save(int epochsDone, boolean isBest) throws IOException {
        try (Checkpoint checkpoint = Checkpoint.capture(training, epochsDone, (long) epochsDone * stepsPerEpoch, bestAccuracy, bestEpoch)) {
            Path file = checkpoints.save(checkpoint, isBest);
            LOG.info("checkpoint {}{}", file, isBest ? " (best so far)" : "");
        }
    }

    private void restore(Checkpoint checkpoint) {
        checkpoint.restore(training);
        startEpoch = checkpoint.meta().epoch();
        bestAccuracy = checkpoint.meta().bestTestAccuracy();
        bestEpoch = checkpoint.meta().bestEpoch();
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
        metrics.close();
        training.close();
    }
}
