package dev.shakenet.train;

import dev.shakenet.data.Batches;
import dev.shakenet.nn.Engine;
import dev.shakenet.nn.Init;
import dev.shakenet.nn.Shake;
import dev.shakenet.nn.ShakeCoefficients;
import dev.shakenet.nn.Network;
import dev.shakenet.nn.PyramidNet;
import dev.shakenet.nn.ShakeResNeXt;
import dev.shakenet.nn.ShakeResNet;
import dev.shakenet.optim.Sgd;
import dev.shakenet.torch.Device;
import dev.shakenet.torch.Generator;
import dev.shakenet.torch.Torch;

/**
 * The network a config describes and what training it draws on: the ShakeResNet, the engine its
 * training step runs on, its SGD optimizer, and its two generators (initial weights on the CPU seeded {@code seed}, shake
 * coefficients on the device seeded {@code seed+1}, or from rank r's own seed in a data-parallel run). The one place the model is built, for
 * training, benchmarking, evaluation and export alike; it owns all of them and closes them together.
 */
public final class TrainingModel implements AutoCloseable {
    private final RunConfig config;
    private final Device device;
    private final Engine engine;
    private final Generator initGenerator;
    private final Generator shakeGenerator;
    private final Network model;
    private final Sgd sgd; // null in a model built for evaluation
    private final LossScaler lossScaler; // fp16 training only
    private final ForwardPass forwardPass;

    private TrainingModel(RunConfig config, Device device, Engine engine, boolean withOptimizer) {
        this(config, device, engine, withOptimizer, 0);
    }

    /** Rank {@code rank} of a data-parallel run draws its own shake coefficients (rank 0: the single-process stream). */
    private TrainingModel(RunConfig config, Device device, Engine engine, boolean withOptimizer, int rank) {
        this.config = config;
        this.device = device;
        this.engine = engine;
        initGenerator = Generator.create(Device.CPU, config.seed());
        Generator shake = null;
        Network built = null;
        try {
            shake = Generator.create(device, Batches.seedForRank(config.seed(), rank) + 1);
            built = network(config, device, initGenerator, shake);
            RunConfig.Optimizer o = config.optimizer();
            sgd = withOptimizer ? new Sgd(built.parameters(), new Sgd.Options(o.momentum(), o.dampening(), o.weightDecay(), o.nesterov()),
                    engine.onePassSgd()) : null;
        } catch (RuntimeException e) {
            if (built != null) built.close();
            if (shake != null) shake.close();
            initGenerator.close();
            throw e;
        }
        shakeGenerator = shake;
        model = built;
        lossScaler = withOptimizer && config.precision() == Precision.FP16 ? new LossScaler() : null;
        forwardPass = new ForwardPass(model, engine, device, config.memoryFormat(), config.precision());
    }

    /**
     * A new model with the paper's initialization, and its optimizer, for {@code run}. The
     * config's process-wide settings are applied and libtorch's default generators seeded first:
     * the model's tensors are made under them.
     */
    public static TrainingModel create(ResolvedRun run) {
        ProcessSettings.apply(run);
        Torch.manualSeed(run.config().seed());
        return new TrainingModel(run.config(), run.device(), run.engine(), true, run.rank());
    }

    /**
     * A checkpoint's model, built from the checkpoint's own config on {@code device} with its
     * weights loaded, in eval mode (the reference forward); no optimizer.
     */
    public static TrainingModel fromCheckpoint(Checkpoint checkpoint, Device device) {
        TrainingModel built = new TrainingModel(checkpoint.config(), device, Engine.choose(Engine.Choice.REFERENCE, device), false);
        try {
            built.model.loadStateDict(checkpoint.section(Checkpoint.MODEL));
        } catch (IllegalArgumentException e) {
            built.close();
            throw new CheckpointException("the checkpoint's weights do not fit its own config's model: " + e.getMessage());
        }
        built.model.train(false);
        return built;
    }

    /** The config's network (model section) with a head for the data set's classes (data section). */
    private static Network network(RunConfig config, Device device, Generator init, Generator shake) {
        RunConfig.Model m = config.model();
        int classes = config.data().format().classes();
        Init initialization = new Init(device, config.memoryFormat(), init);
        return switch (m.family()) {
            case SHAKE_RESNET -> new ShakeResNet(m.depth(), m.width(), classes,
                    ShakeCoefficients.drawn(new Shake(m.shakeForward(), m.shakeBackward(), m.shakeLevel()), shake), initialization);
            case SHAKE_RESNEXT -> new ShakeResNeXt(m.cardinality(), m.width(), m.stemWidth(), classes,
                    ShakeCoefficients.drawn(new Shake(m.shakeForward(), m.shakeBackward(), m.shakeLevel()), shake), initialization);
            case PYRAMIDNET -> new PyramidNet(m.depth(), m.alpha(), m.bottleneck(), classes, shake, initialization);
        };
    }

    /** The config the model was built from. */
    public RunConfig config() {
        return config;
    }

    public Device device() {
        return device;
    }

    public Network model() {
        return model;
    }

    /** The engine the training step runs on. */
    public Engine engine() {
        return engine;
    }

    /** The optimizer; a model built from a checkpoint for evaluation has none. */
    public Sgd sgd() {
        if (sgd == null) throw new IllegalStateException("a model built for evaluation has no optimizer");
        return sgd;
    }

    /** fp16's dynamic loss scaling, or null in other precisions and in a model built for evaluation. */
    LossScaler lossScaler() {
        return lossScaler;
    }

    /** Batches to the device and the forward pass, in the config's memory format and precision. */
    public ForwardPass forwardPass() {
        return forwardPass;
    }

    /** Draws the shake coefficients (its state belongs in checkpoints). */
    public Generator shakeGenerator() {
        return shakeGenerator;
    }

    @Override
    public void close() {
        if (sgd != null) sgd.close();
        model.close();
        shakeGenerator.close();
        initGenerator.close();
    }
}
