package dev.shakenet.train;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A run's checkpoints folder: checkpoints/epoch-NNNN.pt for the newest {@code keepLast} epochs,
 * and checkpoints/best.pt (a hard link to the epoch file with the best test accuracy so far).
 */
public final class Checkpoints {
    public static final String DIR = "checkpoints";
    public static final String BEST = "best.pt";
    private static final Pattern EPOCH_FILE = Pattern.compile("epoch-(\\d+)\\.pt");

    private final Path dir;
    private final int keepLast;
    private final boolean keepBest;

    public Checkpoints(Path runDir, int keepLast, boolean keepBest) throws IOException {
        this.dir = runDir.resolve(DIR);
        this.keepLast = keepLast;
        this.keepBest = keepBest;
        Files.createDirectories(dir);
        AtomicFiles.removeLeftovers(dir); // a crash mid-write leaves only a temporary file
    }

    public static Path fileFor(Path runDir, int epoch) {
        return runDir.resolve(DIR).resolve(String.format("epoch-%04d.pt", epoch));
    }

    /** Saves {@code checkpoint} as the one of its epoch; links best.pt to it when {@code isBest}; prunes old ones. */
    public Path save(Checkpoint checkpoint, boolean isBest) throws IOException {
        Path file = fileFor(dir.getParent(), checkpoint.meta().epoch());
        checkpoint.write(file);
        if (keepBest && isBest) {
            Path link = dir.resolve("." + BEST + AtomicFiles.TMP_SUFFIX);
            Files.deleteIfExists(link);
            Files.createLink(link, file);
            Files.move(link, dir.resolve(BEST), java.nio.file.StandardCopyOption.ATOMIC_MOVE, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
        List<Path> epochs = epochFiles(dir.getParent());
        for (int i = 0; i < epochs.size() - keepLast; i++) Files.deleteIfExists(epochs.get(i)); // best.pt keeps its own link
        AtomicFiles.syncFolder(dir);
        return file;
    }

    /** The newest epoch checkpoint of a run folder. */
    public static Optional<Path> latest(Path runDir) throws IOException {
        List<Path> files = epochFiles(runDir);
        return files.isEmpty() ? Optional.empty() : Optional.of(files.getLast());
    }

    /** Epoch checkpoint files, oldest first. */
    static List<Path> epochFiles(Path runDir) throws IOException {
        Path dir = runDir.resolve(DIR);
        if (!Files.isDirectory(dir)) return List.of();
        try (var files = Files.list(dir)) {
            return files.filter(f -> EPOCH_FILE.matcher(f.getFileName().toString()).matches())
                    .sorted(Comparator.comparingInt(Checkpoints::epochOf)).toList();
        }
    }

    private static int epochOf(Path file) {
        Matcher m = EPOCH_FILE.matcher(file.getFileName().toString());
        return m.matches() ? Integer.parseInt(m.group(1)) : -1;
    }
}
