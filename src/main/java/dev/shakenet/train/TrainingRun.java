package dev.shakenet.train;

import dev.shakenet.data.Cifar10;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * One training run from its config to its end, new or resumed: the config resolved once, the
 * run folder made (or checked) and locked, the resolved config written there, the checks that a
 * resume continues the same model, a graceful stop on Ctrl-C / SIGTERM, run.json, and the
 * Trainer in between.
 */
public final class TrainingRun {
    private static final Logger LOG = LogManager.getLogger(TrainingRun.class);

    /** How a run ended. */
    public enum Outcome {
        /** Every epoch of the config is done. */
        FINISHED,
        /** Ctrl-C or SIGTERM stopped it at a step boundary; the newest checkpoint is where a resume continues. */
        STOPPED
    }

    private TrainingRun() {}

    /** A new run of the config in {@code configFile} with {@code overrides} ("key=value"); {@code command} goes to run.json. */
    public static Outcome start(Path configFile, List<String> overrides, List<String> command) throws IOException {
        RunConfig config = ConfigLoader.load(configFile, overrides);
        ResolvedRun run = ResolvedRun.of(config); // a device that is not here fails before any work
        Cifar10.Splits data = DataSource.load(config.data());
        Path runDir = RunDirectory.create(config);
        try (RunLock lock = RunLock.acquire(runDir)) {
            return train(run, data, runDir, null, List.of(), command);
        }
    }

    /**
     * Continues the run in {@code runDir} from its newest checkpoint, under the run's config.json
     * (or {@code configFile} when non-null) with {@code overrides}.
     */
    public static Outcome resume(Path runDir, Path configFile, List<String> overrides, List<String> command) throws IOException {
        if (!Files.isDirectory(runDir)) throw new ConfigException("--resume " + runDir + ": no such run folder");
        try (RunLock lock = RunLock.acquire(runDir)) {
            List<String> resumeOverrides = new ArrayList<>(overrides);
            resumeOverrides.add("output=" + runDir);
            RunConfig config = ConfigLoader.load(configFile != null ? configFile : runDir.resolve(RunDirectory.CONFIG_FILE), resumeOverrides);
            ResolvedRun run = ResolvedRun.of(config);
            try (Checkpoint checkpoint = Checkpoint.read(runDir)) {
                List<String> changes = checkResumable(checkpoint.config(), config);
                Cifar10.Splits data = DataSource.load(config.data());
                return train(run, data, runDir, checkpoint, changes, command);
            }
        }
    }

    /** Refuses a config that changes the model's shape; returns every other change ("key: old -> new"). */
    static List<String> checkResumable(RunConfig saved, RunConfig now) {
        if (!saved.model().shape().equals(now.model().shape())) {
            throw new ConfigException("--resume: the config changes the model's shape (" + saved.model().shape() + " in the checkpoint, "
                    + now.model().shape() + " now); a checkpoint continues only the same model");
        }
        return ConfigLoader.differences(saved, now);
    }

    /** Trains in the locked {@code runDir}, from {@code checkpoint} when non-null. */
    private static Outcome train(ResolvedRun run, Cifar10.Splits data, Path runDir, Checkpoint checkpoint, List<String> changes,
                                 List<String> command) throws IOException {
        RunConfig config = run.config();
        RunDirectory.writeConfig(runDir, config);
        Thread onStop = stopOnSignal(runDir);
        try (RunDirectory.LogCopy log = RunDirectory.logTo(runDir); Trainer trainer = new Trainer(run, data, runDir, checkpoint)) {
            LOG.info("run {} -> {}", config.name(), runDir.toAbsolutePath().normalize());
            for (String change : changes) LOG.info("resume with a changed config: {}", change);
            RunInfo.collect(run.device(), run.engine().name(), command, checkpoint == null ? 0 : checkpoint.meta().epoch()).appendTo(runDir);
            trainer.run();
            LOG.info("done: {}", runDir.resolve(MetricsLog.FILE));
        } catch (StopRequest.Stopped e) {
            LOG.info("stopped at a step boundary");
            return Outcome.STOPPED;
        } finally {
            StopRequest.done();
            try {
                Runtime.getRuntime().removeShutdownHook(onStop);
            } catch (IllegalStateException shuttingDown) {
                // the hook is running: it prints the message and lets the JVM exit
            }
        }
        return Outcome.FINISHED;
    }

    /** Ctrl-C / SIGTERM: the hook lets the training thread leave libtorch at a step boundary before the JVM exits. */
    private static Thread stopOnSignal(Path runDir) {
        StopRequest.arm();
        Thread onStop = new Thread(() -> {
            boolean clean = StopRequest.requestAndWait(120);
            System.err.println("\nshakenet: stopped" + (clean ? "" : " (training did not reach a step boundary in time)")
                    + "; the newest checkpoint is kept. Continue with: shakenet train --resume " + runDir);
        });
        Runtime.getRuntime().addShutdownHook(onStop);
        return onStop;
    }
}
