package dev.shakenet.train;

import dev.shakenet.data.Batches;
import dev.shakenet.data.Cifar10;
import dev.shakenet.nn.Init;
import dev.shakenet.nn.Shake;
import dev.shakenet.nn.ShakeResNet;
import dev.shakenet.optim.LrSchedule;
import dev.shakenet.optim.Sgd;
import dev.shakenet.torch.DType;
import dev.shakenet.torch.Device;
import dev.shakenet.torch.Functional;
import dev.shakenet.torch.Generator;
import dev.shakenet.torch.MemoryFormat;
import dev.shakenet.torch.Tensor;
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
 * of metrics.jsonl and one log line.
 */
public final class Trainer implements AutoCloseable {
    private static final Logger LOG = LogManager.getLogger(Trainer.class);

    private final RunConfig config;
    private final Cifar10.Splits data;
    private final Device device;
    private final MemoryFormat format;
    private final Generator initGenerator;
    private final Generator shakeGenerator;
    private final ShakeResNet model;
    private final Sgd sgd;
    private final int stepsPerEpoch;
    private final LrSchedule schedule;
    private final Evaluator evaluator;
    private final MetricsLog metrics;

    public Trainer(RunConfig config, Cifar10.Splits data, Path runDir) throws IOException {
        this.config = config;
        this.data = data;
        this.device = Devices.resolve(config.device());
        this.format = config.memoryFormat();
        Torch.setNumThreads(config.threads() > 0 ? config.threads() : Runtime.getRuntime().availableProcessors());
        Torch.manualSeed(config.seed());
        initGenerator = Generator.create(Device.CPU, config.seed());
        shakeGenerator = Generator.create(device, config.seed() + 1);
        RunConfig.Model m = config.model();
        model = new ShakeResNet(m.depth(), m.width(), Cifar10.CLASSES, new Shake(m.shakeForward(), m.shakeBackward(), m.shakeLevel()),
                shakeGenerator, new Init(device, format, initGenerator));
        RunConfig.Optimizer o = config.optimizer();
        sgd = new Sgd(model.parameters(), new Sgd.Options(o.momentum(), o.dampening(), o.weightDecay(), o.nesterov()));
        stepsPerEpoch = Batches.batchCount(data.train().count(), config.batchSize());
        schedule = Schedules.of(config, stepsPerEpoch);
        evaluator = new Evaluator(device, format, config.evalBatchSize());
        metrics = new MetricsLog(runDir);
        LOG.info("Shake-Shake-{} 2x{}d ({} parameters) on {} ({} threads, {}), {} training / {} test images, {} steps per epoch",
                m.depth(), m.width(), String.format("%,d", model.parameterCount()), device, Torch.numThreads(),
                format.name().toLowerCase(), data.train().count(), data.test().count(), stepsPerEpoch);
    }

    /** Runs every epoch of the config; returns their metrics. */
    public List<EpochMetrics> run() {
        List<EpochMetrics> all = new ArrayList<>();
        for (int epoch = 0; epoch < config.epochs(); epoch++) all.add(runEpoch(epoch));
        return all;
    }

    private EpochMetrics runEpoch(int epoch) {
        long start = System.nanoTime();
        model.train(true);
        double lr = 0;
        long images = 0;
        try (TensorScope epochScope = TensorScope.open();
             Batches batches = Batches.training(data.train(), config.batchSize(), config.seed(), epoch, config.data().augment())) {
            // Summed on the device and read only at log points: no host synchronisation per step.
            Tensor lossSum = Tensor.zeros(DType.FLOAT64, device);
            Tensor correct = Tensor.zeros(DType.INT64, device);
            while (batches.hasNext()) {
                Batches.Batch batch = batches.next();
                long step = (long) epoch * stepsPerEpoch + batch.index();
                lr = schedule.lr(step, epoch);
                try (TensorScope stepScope = TensorScope.open()) {
                    Tensor x = Tensor.fromFloats(batch.images(), batch.size(), 3, 32, 32).to(device, null, format, false); // (N,3,32,32)
                    Tensor y = Tensor.fromLongs(batch.labels(), batch.size()).to(device);                               // (N)
                    Tensor logits = model.forward(x);                                                                     // (N,10)
                    Tensor loss = Functional.crossEntropy(logits, y);                                                     // ()
                    model.zeroGrad();
                    loss.backward();
                    sgd.step(lr);
                    lossSum.addInPlace(loss.detach().mul(batch.size()));
                    correct.addInPlace(Functional.countCorrect(logits, y));
                }
                images += batch.size();
                if ((batch.index() + 1) % config.logInterval() == 0 && batch.index() + 1 < batches.count()) {
                    double seconds = (System.nanoTime() - start) / 1e9;
                    LOG.info("epoch {}/{} step {}/{}  loss {}  acc {}%  {} img/s", epoch + 1, config.epochs(), batch.index() + 1,
                            batches.count(), f4(lossSum.item() / images), f2(100 * correct.item() / images), f1(images / seconds));
                }
            }
            double trainSeconds = (System.nanoTime() - start) / 1e9;
            double trainLoss = lossSum.item() / images, trainAccuracy = correct.item() / images;
            Evaluator.Result test = null;
            if ((epoch + 1) % config.evalInterval() == 0 || epoch + 1 == config.epochs()) test = evaluator.evaluate(model, data.test());
            EpochMetrics line = new EpochMetrics(epoch + 1, lr, trainLoss, trainAccuracy, test == null ? null : test.loss(),
                    test == null ? null : test.accuracy(), images / trainSeconds, (System.nanoTime() - start) / 1e9);
            metrics.write(line);
            LOG.info("epoch {}/{}  lr {}  train loss {} acc {}%  test {}  {} img/s  {} s", epoch + 1, config.epochs(), String.format("%.5f", lr),
                    f4(trainLoss), f2(100 * trainAccuracy), test == null ? "-" : "loss " + f4(test.loss()) + " acc " + f2(100 * test.accuracy()) + "%",
                    f1(line.imagesPerSecond()), f1(line.seconds()));
            return line;
        }
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
        sgd.close();
        model.close();
        shakeGenerator.close();
        initGenerator.close();
    }
}
