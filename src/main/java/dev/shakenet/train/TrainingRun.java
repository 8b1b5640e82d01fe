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

    /** How a run ended, and the exit code that says so. */
    public enum Outcome {
        /** Every epoch of the config is done. */
        FINISHED(0),
        /** A step held inf or NaN where the nonfinite policy does not allow it. */
        NON_FINITE(NonFiniteException.EXIT_CODE),
        /** Ctrl-C stopped it after a checkpoint of the step it had finished. */
        STOPPED_BY_SIGINT(StopRequest.Reason.SIGINT.exitCode),
        /** SIGTERM (or a JVM shutdown) stopped it after a checkpoint of the step it had finished. */
        STOPPED_BY_SIGTERM(StopRequest.Reason.SIGTERM.exitCode);

        public final int exitCode;

        Outcome(int exitCode) {
            this.exitCode = exitCode;
        }
    }

    private TrainingRun() {}

    /** A new run of the config in {@code configFile} with {@code overrides} ("key=value"); {@code command} goes to run.json. */
    public static Outcome start(Path configFile, List<String> overrides, List<String> command) throws IOException {
        RunConfig config = ConfigLoader.load(configFile, overrides);
        ResolvedRun run = ResolvedRun.of(config); // a device that is not here fails before any work
        Cifar10.Splits data = DataSource.load(config.data());
        Path runDir = RunDirectory.create(config);
        try (RunLock lock = RunLock.acquire(runDir); RunDirectory.LogCopy log = RunDirectory.logTo(runDir)) {
            return train(run, data, runDir, null, List.of(), command);
        }
    }

    /**
     * Continues the run in {@code runDir} from its newest checkpoint, under the run's config.json
     * (or {@code configFile} when non-null) with {@code overrides}.
     */
    public static Outcome resume(Path runDir, Path configFile, List<String> overrides, List<String> command) throws IOException {
        if (!Files.isDirectory(runDir)) throw new ConfigException("--resume " + runDir + ": no such run folder");
        RunDirectory.checkWritable(runDir, "free space or fix its permissions, or copy the run folder somewhere writable and resume that copy");
        // the log copy first, so that train.log keeps the warnings about damaged or missing checkpoints too
        try (RunLock lock = RunLock.acquire(runDir); RunDirectory.LogCopy log = RunDirectory.logTo(runDir)) {
            List<String> resumeOverrides = new ArrayList<>(overrides);
            resumeOverrides.add("output=" + runDir);
            RunConfig config = ConfigLoader.load(configFile != null ? configFile : runDir.resolve(RunDirectory.CONFIG_FILE), resumeOverrides);
            ResolvedRun run = ResolvedRun.of(config);
            Checkpoint newest = Checkpoint.readNewestIntact(runDir).orElse(null);
            if (newest == null) {
                // stopped (kill -9, a crash) before its first checkpoint: nothing to continue, so it starts over in its folder
                LOG.warn("{} holds no checkpoint yet: the run starts from its beginning", runDir);
                MetricsLog.truncateAfter(runDir, 0);
            }
            try (Checkpoint checkpoint = newest) {
                List<String> changes = checkpoint == null ? List.of() : checkResumable(checkpoint.config(), config);
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

    /** Trains in the locked {@code runDir} (its log copied to train.log by the caller), from {@code checkpoint} when non-null. */
    private static Outcome train(ResolvedRun run, Cifar10.Splits data, Path runDir, Checkpoint checkpoint, List<String> changes,
                                 List<String> command) throws IOException {
        RunConfig config = run.config();
        RunDirectory.writeConfig(runDir, config);
        Thread onStop = stopOnSignal(runDir);
        Trainer trainer = null;
        try (Trainer t = new Trainer(run, data, runDir, checkpoint)) {
            trainer = t;
            LOG.info("run {} -> {}", config.name(), runDir.toAbsolutePath().normalize());
            for (String change : changes) LOG.info("resume with a changed config: {}", change);
            RunInfo.collect(run.device(), run.engine().name(), command, checkpoint == null ? 0 : checkpoint.meta().epoch()).appendTo(runDir);
            t.run();
            LOG.info("done: {}", runDir.resolve(MetricsLog.FILE));
        } catch (StopRequest.Stopped e) {
            Path last = trainer == null ? null : trainer.lastCheckpoint();
            LOG.info("stopped by {}{}. Continue with: shakenet train --resume {}", e.reason(),
                    last == null ? " before the first checkpoint" : "; newest checkpoint " + last, runDir);
            return e.reason() == StopRequest.Reason.SIGINT ? Outcome.STOPPED_BY_SIGINT : Outcome.STOPPED_BY_SIGTERM;
        } catch (NonFiniteException e) {
            LOG.error("{}", e.getMessage());
            return Outcome.NON_FINITE;
        } catch (FileWriteException e) {
            throw e.withAdvice(afterFailedWrite(runDir));
        } finally {
            StopRequest.disarm();
            StopRequest.done();
            try {
                Runtime.getRuntime().removeShutdownHook(onStop);
            } catch (IllegalStateException shuttingDown) {
                // the hook is running: it prints the message and lets the JVM exit
            }
        }
        return Outcome.FINISHED;
    }

    /** What to do after a checkpoint or metrics line could not be written: the newest checkpoint is where a resume continues. */
    private static String afterFailedWrite(Path runDir) throws IOException {
        return Checkpoints.latest(runDir)
                .map(f -> "the previous checkpoint " + f.getFileName() + " is intact; free space, then continue with: shakenet train --resume " + runDir)
                .orElse("the run has no checkpoint yet; free space, then start it again in a new folder (--set output=<folder>)");
    }

    /**
     * SIGINT and SIGTERM go to StopRequest; a JVM shutdown for another cause runs this hook, which
     * lets the training thread write its checkpoint and leave libtorch before the JVM exits.
     */
    private static Thread stopOnSignal(Path runDir) {
        StopRequest.arm();
        Thread onStop = new Thread(() -> {
            boolean clean = StopRequest.requestAndWait(120);
            System.err.println("\nshakenet: stopped" + (clean ? "" : " (training did not reach a step boundary in time)")
                    + ". Continue with: shakenet train --resume " + runDir);
        });
        Runtime.getRuntime().addShutdownHook(onStop);
        return onStop;
    }
}
