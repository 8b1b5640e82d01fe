package dev.shakenet.train;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Writes files so that a crash or kill at any instant leaves either the old file or the new one,
 * never a torn one: write a temporary file in the same folder, fsync it, rename it over the
 * target, fsync the folder.
 */
public final class AtomicFiles {
    /** Writes the content of a file at the path it is given. */
    @FunctionalInterface
    public interface Writer {
        void write(Path path) throws IOException;
    }

    /** Runs between the finished temporary file and the rename; tests use it to simulate a crash there. */
    static volatile Runnable beforeRename = () -> {};

    static final String TMP_SUFFIX = ".tmp";

    private AtomicFiles() {}

    public static void write(Path target, Writer writer) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = dir.resolve("." + target.getFileName() + TMP_SUFFIX);
        Files.deleteIfExists(tmp);
        writer.write(tmp);
        try (FileChannel channel = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
            channel.force(true);
        }
        beforeRename.run();
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
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
