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
 * checkpoints/best.pt (a hard link to the epoch file with the best test accuracy so far), and
 * epoch-NNNN-batch-BBBBB.pt, written when a stop request interrupts epoch NNNN+1 after BBBBB
 * batches (removed once a newer checkpoint is written).
 */
public final class Checkpoints {
    public static final String DIR = "checkpoints";
    public static final String BEST = "best.pt";
    private static final Pattern EPOCH_FILE = Pattern.compile("epoch-(\\d+)(?:-batch-(\\d+))?\\.pt");

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

    /** The file of a checkpoint after {@code epoch} epochs and {@code batch} batches of the next (0: the epoch file). */
    public static Path fileFor(Path runDir, int epoch, int batch) {
        return batch == 0 ? fileFor(runDir, epoch) : runDir.resolve(DIR).resolve(String.format("epoch-%04d-batch-%05d.pt", epoch, batch));
    }

    /** Saves {@code checkpoint} as the one of its epoch; links best.pt to it when {@code isBest}; prunes old ones. */
    public Path save(Checkpoint checkpoint, boolean isBest) throws IOException {
        EpochTally.Saved progress = checkpoint.meta().progress();
        Path file = fileFor(dir.getParent(), checkpoint.meta().epoch(), progress == null ? 0 : progress.batchesDone());
        checkpoint.write(file);
        if (keepBest && isBest) {
            Path link = dir.resolve("." + BEST + AtomicFiles.TMP_SUFFIX);
            Files.deleteIfExists(link);
            Files.createLink(link, file);
            Files.move(link, dir.resolve(BEST), java.nio.file.StandardCopyOption.ATOMIC_MOVE, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
        List<Path> all = epochFiles(dir.getParent());
        List<Path> whole = all.stream().filter(f -> batchOf(f) == 0).toList();
        for (int i = 0; i < whole.size() - keepLast; i++) Files.deleteIfExists(whole.get(i)); // best.pt keeps its own link
        for (Path f : all) {
            if (batchOf(f) != 0 && ORDER.compare(f, file) < 0) Files.deleteIfExists(f); // a mid-epoch file a newer checkpoint replaces
        }
        AtomicFiles.syncFolder(dir);
        return file;
    }

    /** The newest epoch checkpoint of a run folder. */
    public static Optional<Path> latest(Path runDir) throws IOException {
        List<Path> files = epochFiles(runDir);
        return files.isEmpty() ? Optional.empty() : Optional.of(files.getLast());
    }

    /** Checkpoint files (whole epochs and mid-epoch), oldest first. */
    static List<Path> epochFiles(Path runDir) throws IOException {
        Path dir = runDir.resolve(DIR);
        if (!Files.isDirectory(dir)) return List.of();
        try (var files = Files.list(dir)) {
            return files.filter(f -> EPOCH_FILE.matcher(f.getFileName().toString()).matches())
                    .sorted(ORDER).toList();
        }
    }

    private static final Comparator<Path> ORDER = Comparator.comparingInt(Checkpoints::epochOf).thenComparingInt(Checkpoints::batchOf);

    private static int epochOf(Path file) {
        Matcher m = EPOCH_FILE.matcher(file.getFileName().toString());
        return m.matches() ? Integer.parseInt(m.group(1)) : -1;
    }

    private static int batchOf(Path file) {
        Matcher m = EPOCH_FILE.matcher(file.getFileName().toString());
        return m.matches() && m.group(2) != null ? Integer.parseInt(m.group(2)) : 0;
    }
}
