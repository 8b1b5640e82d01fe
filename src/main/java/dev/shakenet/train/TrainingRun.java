package dev.shakenet.train;

import dev.shakenet.data.Cifar;
import dev.shakenet.distributed.WorkerEnvironment;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;
import org.apache.logging.log4j.ThreadContext;

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

    /**
     * A new run of the config in {@code configFile} with {@code overrides} ("key=value"); {@code command} goes to run.json.
     * When the environment makes this process one rank of several (WorkerEnvironment), it joins
     * them first; only rank 0 makes the run folder.
     */
    public static Outcome start(Path configFile, List<String> overrides, List<String> command) throws IOException {
        RunConfig config = ConfigLoader.load(configFile, overrides);
        Optional<WorkerEnvironment> worker = WorkerEnvironment.current(config.distributed());
        ResolvedRun run = worker.map(w -> ResolvedRun.of(config, w)).orElseGet(() -> ResolvedRun.of(config)); // a device that is not here fails before any work
        try (DataParallel dp = join(worker, run)) {
            Cifar.Splits data = loadData(config, dp);
            if (!dp.isLeader()) return train(run, data, null, null, List.of(), command, dp);
            Path runDir = RunDirectory.create(config);
            try (RunLock lock = RunLock.acquire(runDir); RunDirectory.LogCopy log = RunDirectory.logTo(runDir)) {
                return train(run, data, runDir, null, List.of(), command, dp);
            }
        }
    }

    /** Joins the data-parallel run the environment describes, or trains alone. */
    private static DataParallel join(Optional<WorkerEnvironment> worker, ResolvedRun run) {
        if (worker.isEmpty()) return DataParallel.single();
        WorkerEnvironment w = worker.get();
        if (!w.isLeader() && !w.underLocalLauncher()) ThreadContext.put("rank", "rank " + w.rank() + ": "); // its log lines say whose they are
        LOG.info("rank {} of {} ({}): joining the store at {}:{}{}", w.rank(), w.worldSize(), w.launcher(), w.masterAddr(), w.masterPort(),
                w.agentStore() ? " (the launcher's)" : w.isLeader() ? " (hosting it)" : "");
        return DataParallel.join(w, run.config().distributed(), run.device());
    }

    /** The data set; with download on, rank 0 first, so that a download happens once, then the others. */
    private static Cifar.Splits loadData(RunConfig config, DataParallel dp) throws IOException {
        if (!config.data().download() || !dp.isDistributed()) return DataSource.load(config.data());
        Cifar.Splits data = dp.isLeader() ? DataSource.load(config.data()) : null;
        dp.any(false); // the others wait for rank 0's copy
        return data != null ? data : DataSource.load(config.data());
    }

    /**
     * Continues the run in {@code runDir} from its newest checkpoint, under the run's config.json
     * (or {@code configFile} when non-null) with {@code overrides}.
     */
    public static Outcome resume(Path runDir, Path configFile, List<String> overrides, List<String> command) throws IOException {
        if (!Files.isDirectory(runDir)) {
            throw new ConfigException("--resume " + runDir + ": no such run folder" + (WorkerEnvironment.current(RunConfig.DEFAULTS.distributed()).isPresent()
                    ? " (every rank reads the checkpoint: the run folder must be on a file system all machines see)" : ""));
        }
        RunDirectory.checkWritable(runDir, "free space or fix its permissions, or copy the run folder somewhere writable and resume that copy");
        List<String> resumeOverrides = new ArrayList<>(overrides);
        resumeOverrides.add("output=" + runDir);
        Path configPath = configFile != null ? configFile : runDir.resolve(RunDirectory.CONFIG_FILE);
        RunConfig peek = ConfigLoader.load(configPath, resumeOverrides);
        Optional<WorkerEnvironment> worker = WorkerEnvironment.current(peek.distributed());
        if (worker.isPresent() && !worker.get().isLeader()) {
            RunConfig config = peek;
            ResolvedRun run = ResolvedRun.of(config, worker.get());
            try (DataParallel dp = join(worker, run)) {
                return resumeOnOtherRank(runDir, run, dp, command);
            }
        }
        // the log copy first, so that train.log keeps the warnings about damaged or missing checkpoints too
        try (RunLock lock = RunLock.acquire(runDir); RunDirectory.LogCopy log = RunDirectory.logTo(runDir)) {
            RunConfig config = ConfigLoader.load(configPath, resumeOverrides);
            ResolvedRun run = worker.map(w -> ResolvedRun.of(config, w)).orElseGet(() -> ResolvedRun.of(config));
            try (DataParallel dp = join(worker, run)) {
                Checkpoint newest = Checkpoint.readNewestIntact(runDir).orElse(null);
                dp.sum(new double[] {newest == null ? -1 : newest.meta().step()}); // tells the other ranks which checkpoint to read
                if (newest == null) {
                    // stopped (kill -9, a crash) before its first checkpoint: nothing to continue, so it starts over in its folder
                    LOG.warn("{} holds no checkpoint yet: the run starts from its beginning", runDir);
                    MetricsLog.truncateAfter(runDir, 0);
                }
                try (Checkpoint checkpoint = newest) {
                    List<String> changes = checkpoint == null ? List.of() : checkResumable(checkpoint.config(), config);
                    Cifar.Splits data = loadData(config, dp);
                    return train(run, data, runDir, checkpoint, changes, command, dp);
                }
            }
        }
    }

    /** A rank other than 0 resuming: it reads the checkpoint rank 0 chose (after rank 0 has set damaged ones aside), writes nothing. */
    private static Outcome resumeOnOtherRank(Path runDir, ResolvedRun run, DataParallel dp, List<String> command) throws IOException {
        long chosen = (long) dp.sum(new double[] {0})[0];
        Checkpoint newest = chosen < 0 ? null : Checkpoint.readNewestIntact(runDir, false).orElse(null);
        try (Checkpoint checkpoint = newest) {
            long mine = checkpoint == null ? -1 : checkpoint.meta().step();
            if (mine != chosen) {
                throw new CheckpointException("rank " + dp.rank() + " reads a different newest checkpoint in " + runDir + " than rank 0 (update "
                        + mine + ", rank 0: " + chosen + "); every rank must see the same run folder (a shared file system)");
            }
            Cifar.Splits data = loadData(run.config(), dp);
            return train(run, data, null, checkpoint, List.of(), command, dp);
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
    private static Outcome train(ResolvedRun run, Cifar.Splits data, Path runDir, Checkpoint checkpoint, List<String> changes,
                                 List<String> command, DataParallel dp) throws IOException {
        RunConfig config = run.config();
        if (dp.isLeader()) RunDirectory.writeConfig(runDir, config);
        Thread onStop = stopOnSignal(runDir, dp.resumeHint());
        Trainer trainer = null;
        try (Trainer t = new Trainer(run, data, runDir, checkpoint, dp)) {
            trainer = t;
            if (dp.isLeader()) {
                LOG.info("run {} -> {}", config.name(), runDir.toAbsolutePath().normalize());
                for (String change : changes) LOG.info("resume with a changed config: {}", change);
                RunInfo.collect(run.device(), run.engine().name(), command, checkpoint == null ? 0 : checkpoint.meta().epoch(), dp.worldSize(),
                        dp.backendName(), dp.launcher()).appendTo(runDir);
            }
            t.run();
            if (dp.isLeader()) LOG.info("done: {}", runDir.resolve(MetricsLog.FILE));
        } catch (StopRequest.Stopped e) {
            Path last = trainer == null ? null : trainer.lastCheckpoint();
            if (dp.isLeader()) {
                LOG.info("stopped by {}{}. Continue with: shakenet train --resume {}{}", e.reason(),
                        last == null ? " before the first checkpoint" : "; newest checkpoint " + last, runDir, dp.resumeHint());
            } else {
                LOG.info("stopped by {}, with rank 0", e.reason());
            }
            return e.reason() == StopRequest.Reason.SIGINT ? Outcome.STOPPED_BY_SIGINT : Outcome.STOPPED_BY_SIGTERM;
        } catch (NonFiniteException e) {
            LOG.error("{}", e.getMessage());
            return Outcome.NON_FINITE;
        } catch (FileWriteException e) {
            if (runDir == null) throw e;
            throw e.withAdvice(afterFailedWrite(runDir, dp.resumeHint()));
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
    private static String afterFailedWrite(Path runDir, String resumeHint) throws IOException {
        return Checkpoints.latest(runDir)
                .map(f -> "the previous checkpoint " + f.getFileName() + " is intact; free space, then continue with: shakenet train --resume " + runDir
                        + resumeHint)
                .orElse("the run has no checkpoint yet; free space, then start it again in a new folder (--set output=<folder>)");
    }

    /**
     * SIGINT and SIGTERM go to StopRequest; a JVM shutdown for another cause runs this hook, which
     * lets the training thread write its checkpoint and leave libtorch before the JVM exits.
     */
    private static Thread stopOnSignal(Path runDir, String resumeHint) {
        StopRequest.arm();
        Thread onStop = new Thread(() -> {
            boolean clean = StopRequest.requestAndWait(120);
            System.err.println("\nshakenet: stopped" + (clean ? "" : " (training did not reach a step boundary in time)")
                    + (runDir == null ? "" : ". Continue with: shakenet train --resume " + runDir + resumeHint));
        });
        Runtime.getRuntime().addShutdownHook(onStop);
        return onStop;
    }
}
