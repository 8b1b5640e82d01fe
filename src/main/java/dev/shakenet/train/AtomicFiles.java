package dev.shakenet.train;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Writes files so that a crash or kill at any instant leaves either the old file or the new one,
 * never a torn one: write a temporary file in the same folder, fsync it, check it, rename it over
 * the target, fsync the folder. A failed write (a full disk, say) removes the temporary file.
 */
public final class AtomicFiles {
    /** Writes the content of a file at the path it is given. */
    @FunctionalInterface
    public interface Writer {
        void write(Path path) throws IOException;
    }

    /** Reads back a finished temporary file before it replaces the target; throws if it is not right. */
    @FunctionalInterface
    public interface Check {
        void check(Path tmp) throws IOException;
    }

    /** Runs between the finished temporary file and the rename; tests use it to simulate a crash there. */
    static volatile Runnable beforeRename = () -> {};

    /** Runs on the temporary file right after the writer; tests use it to fail or damage a write. */
    static volatile Writer afterWriter = path -> {};

    static final String TMP_SUFFIX = ".tmp";

    private AtomicFiles() {}

    public static void write(Path target, Writer writer) throws IOException {
        write(target, 0, writer, tmp -> {});
    }

    /**
     * Writes {@code target} with {@code writer}, runs {@code check} on the synced temporary file,
     * then renames it over the target. With {@code expectedBytes} > 0, a file system with less
     * usable space fails before anything is written. Any I/O failure leaves the previous target
     * as it was, no temporary file, and throws {@link FileWriteException}.
     */
    public static void write(Path target, long expectedBytes, Writer writer, Check check) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        Path tmp = dir.resolve("." + target.getFileName() + TMP_SUFFIX);
        boolean existed = Files.exists(target);
        try {
            Files.createDirectories(dir);
            Files.deleteIfExists(tmp);
            long usable = FileWriteException.usableSpace(dir);
            if (expectedBytes > 0 && usable >= 0 && usable < expectedBytes) throw new IOException("not enough free space");
            writer.write(tmp);
            afterWriter.write(tmp);
            try (FileChannel channel = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                channel.force(true);
            }
            check.check(tmp);
            beforeRename.run();
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            try {
                Files.deleteIfExists(tmp); // frees the space the partial file took
            } catch (IOException notRemoved) {
                e.addSuppressed(notRemoved);
            }
            throw FileWriteException.of(target, e, expectedBytes, existed ? "the previous file is intact" : "no partial file is left");
        }
        syncFolder(dir);
    }

    public static void writeString(Path target, String text) throws IOException {
        write(target, path -> Files.writeString(path, text));
    }

    /** Makes a rename or delete in {@code dir} durable. */
    static void syncFolder(Path dir) throws IOException {
        try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
            channel.force(true);
        }
    }

    /** Removes temporary files a crash left in {@code dir}. */
    static void removeLeftovers(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) return;
        try (var files = Files.list(dir)) {
            for (Path f : files.filter(f -> f.getFileName().toString().endsWith(TMP_SUFFIX)).toList()) Files.deleteIfExists(f);
        }
    }
}
