package dev.shakenet.train;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Optional;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.core.LoggerContext;
import org.apache.logging.log4j.core.appender.FileAppender;
import org.apache.logging.log4j.core.config.Configuration;
import org.apache.logging.log4j.core.layout.PatternLayout;

/** A run's output folder: the resolved config, metrics.jsonl and a copy of the log. */
public final class RunDirectory {
    public static final String CONFIG_FILE = "config.json";
    public static final String LOG_FILE = "train.log";

    /** The copy of the log into train.log, stopped by close(). */
    public interface LogCopy extends AutoCloseable {
        @Override
        void close();
    }

    private RunDirectory() {}

    /**
     * Creates the folder for {@code config} (its output, or runs/&lt;name&gt;-&lt;time&gt;); refuses a
     * folder that already holds a run or cannot be written. The caller locks it ({@link RunLock}),
     * then writes the config.
     */
    public static Path create(RunConfig config) throws IOException {
        Path dir = config.output() != null ? Path.of(config.output())
                : Path.of("runs", config.name() + "-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
        if (Files.exists(dir.resolve(MetricsLog.FILE))) {
            throw new ConfigException("output: " + dir + " already holds a run (" + MetricsLog.FILE + "); choose another folder with "
                    + "--set output=<folder>, or leave output unset for a new runs/<name>-<time> folder");
        }
        checkWritable(dir, "choose another folder with --set output=<folder>, or make this one writable");
        return dir;
    }

    /**
     * Refuses, before any training, a run folder where files cannot be made: creates it and its
     * checkpoints folder, and a small file in each, then deletes the files. {@code advice} ends the message.
     */
    public static void checkWritable(Path dir, String advice) {
        for (Path folder : List.of(dir, dir.resolve(Checkpoints.DIR))) {
            try {
                Files.createDirectories(folder);
                Path probe = Files.createTempFile(folder, ".write-probe-", AtomicFiles.TMP_SUFFIX);
                try {
                    Files.write(probe, new byte[] {'o', 'k'});
                } finally {
                    Files.deleteIfExists(probe);
                }
            } catch (IOException e) {
                String why = fileInTheWay(folder).map(f -> f + " is a file, not a folder").orElseGet(() -> FileWriteException.reason(e));
                throw new ConfigException("output: cannot write in " + folder + ": " + why + "; " + advice);
            }
        }
    }

    /** The nearest part of {@code path} that exists as something other than a folder. */
    private static Optional<Path> fileInTheWay(Path path) {
        for (Path p = path.toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.exists(p)) return Files.isDirectory(p) ? Optional.empty() : Optional.of(p);
        }
        return Optional.empty();
    }

    /** (Re)writes the resolved config of a run, atomically. */
    public static void writeConfig(Path dir, RunConfig config) throws IOException {
        AtomicFiles.writeString(dir.resolve(CONFIG_FILE), ConfigLoader.toJson(config));
    }

    /** Copies every log line into {@code dir}/train.log as well, until the returned handle closes. */
    public static LogCopy logTo(Path dir) {
        LoggerContext context = (LoggerContext) LogManager.getContext(false);
        Configuration configuration = context.getConfiguration();
        FileAppender file = FileAppender.newBuilder()
                .setName("run-" + dir)
                .withFileName(dir.resolve(LOG_FILE).toString())
                .setLayout(PatternLayout.newBuilder().withPattern("%d{yyyy-MM-dd HH:mm:ss} %msg%n").withConfiguration(configuration).build())
                .setConfiguration(configuration)
                .build();
        file.start();
        configuration.addAppender(file);
        configuration.getRootLogger().addAppender(file, null, null);
        context.updateLoggers();
        return () -> {
            configuration.getRootLogger().removeAppender(file.getName());
            context.updateLoggers();
            file.stop();
        };
    }
}
