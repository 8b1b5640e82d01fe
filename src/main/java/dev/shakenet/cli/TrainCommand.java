package dev.shakenet.cli;

import dev.shakenet.data.Cifar10;
import dev.shakenet.train.Checkpoint;
import dev.shakenet.train.ConfigException;
import dev.shakenet.train.ConfigLoader;
import dev.shakenet.train.DataSource;
import dev.shakenet.train.ResolvedRun;
import dev.shakenet.train.RunConfig;
import dev.shakenet.train.RunDirectory;
import dev.shakenet.train.RunLock;
import dev.shakenet.train.RunInfo;
import dev.shakenet.train.StopRequest;
import dev.shakenet.train.Trainer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** shakenet train: trains a Shake-Shake ResNet on CIFAR-10 from a JSON run config, or resumes a run. */
@Command(name = "train", header = "Train a Shake-Shake ResNet on CIFAR-10 from a JSON run config, or resume a run.",
        sortOptions = false,
        description = {
            "Trains the run a JSON config describes (config/README.md lists every key and its default), evaluating on the "
                    + "test set every eval_interval epochs. The run folder (output, or runs/<name>-<time>) receives config.json "
                    + "(the resolved config), metrics.jsonl (one JSON line per epoch), train.log, run.json (versions, device, "
                    + "git commit) and checkpoints/ (epoch-NNNN.pt, best.pt).",
            "",
            "--resume continues a run from its newest checkpoint, with the run's config.json (or --config) and the --set "
                    + "changes; a change of the model's shape is refused, other changes (more epochs, say) are logged.",
            ""})
final class TrainCommand implements Callable<Integer> {
    @Mixin
    HelpOption help;

    private static final Logger LOG = LogManager.getLogger(TrainCommand.class);

    @Spec
    CommandSpec spec;

    @Option(names = "--config", paramLabel = "FILE", description = "the run config (JSON)")
    Path configFile;

    @Option(names = "--resume", paramLabel = "FOLDER", description = "the run folder to continue")
    Path resume;

    @Mixin
    ConfigOverrides overrides;

    @Override
    public Integer call() throws Exception {
        if (resume == null && configFile == null) {
            throw new ParameterException(spec.commandLine(),
                    "--config <file.json> is required (or --resume <run folder>), e.g. --config config/cpu-quick.json");
        }
        try (HeldLock lock = new HeldLock()) {
            return train(spec.commandLine().getParseResult().originalArgs(), lock);
        }
    }

    /** The run folder's lock once taken, released when the command ends however it ends. */
    private static final class HeldLock implements AutoCloseable {
        private RunLock lock;

        void hold(RunLock taken) {
            lock = taken;
        }

        @Override
        public void close() throws Exception {
            if (lock != null) lock.close();
        }
    }

    private int train(List<String> argv, HeldLock lock) throws Exception {
        Path runDir;
        RunConfig config;
        ResolvedRun run;
        List<String> changes = List.of();
        Checkpoint checkpoint = null;
        if (resume == null) {
            config = ConfigLoader.load(configFile, overrides.values);
            run = ResolvedRun.of(config); // a device that is not here fails before any work
            runDir = null;
        } else {
            runDir = resume;
            if (!Files.isDirectory(runDir)) throw new ConfigException("--resume " + runDir + ": no such run folder");
            lock.hold(RunLock.acquire(runDir));
            List<String> resumeOverrides = new ArrayList<>(overrides.values);
            resumeOverrides.add("output=" + runDir);
            Path file = configFile != null ? configFile : runDir.resolve(RunDirectory.CONFIG_FILE);
            config = ConfigLoader.load(file, resumeOverrides);
            run = ResolvedRun.of(config);
            checkpoint = Checkpoint.read(runDir);
            changes = checkResumable(checkpoint.config(), config);
        }
        Cifar10.Splits data = DataSource.load(config.data());
        if (runDir == null) {
            runDir = RunDirectory.create(config);
            lock.hold(RunLock.acquire(runDir));
        }
        RunDirectory.writeConfig(runDir, config);
        Path folder = runDir;
        // Ctrl-C / SIGTERM: let the training thread leave libtorch at a step boundary before the JVM exits.
        StopRequest.arm();
        Thread onStop = new Thread(() -> {
            boolean clean = StopRequest.requestAndWait(120);
            System.err.println("\nshakenet: stopped" + (clean ? "" : " (training did not reach a step boundary in time)")
                    + "; the newest checkpoint is kept. Continue with: shakenet train --resume " + folder);
        });
        Runtime.getRuntime().addShutdownHook(onStop);
        try (AutoCloseable log = RunDirectory.logTo(runDir); Trainer trainer = new Trainer(run, data, runDir, checkpoint)) {
            LOG.info("run {} -> {}", config.name(), runDir.toAbsolutePath().normalize());
            for (String change : changes) LOG.info("resume with a changed config: {}", change);
            RunInfo.collect(run.device(), argv, checkpoint == null ? 0 : checkpoint.meta().epoch()).appendTo(runDir);
            trainer.run();
            LOG.info("done: {}", runDir.resolve("metrics.jsonl"));
        } catch (StopRequest.Stopped e) {
            LOG.info("stopped at a step boundary");
            return 130;
        } finally {
            if (checkpoint != null) checkpoint.close();
            StopRequest.done();
            try {
                Runtime.getRuntime().removeShutdownHook(onStop);
            } catch (IllegalStateException shuttingDown) {
                // the hook is running: it prints the message and lets the JVM exit
            }
        }
        return 0;
    }

    /** Refuses a config that changes the model's shape; returns every other change ("key: old -> new"). */
    static List<String> checkResumable(RunConfig saved, RunConfig now) {
        if (!saved.model().shape().equals(now.model().shape())) {
            throw new ConfigException("--resume: the config changes the model's shape (" + saved.model().shape() + " in the checkpoint, "
                    + now.model().shape() + " now); a checkpoint continues only the same model");
        }
        return ConfigLoader.differences(saved, now);
    }
}
