package dev.shakenet.train;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Keeps two trainers out of one run folder: an operating-system lock on {@code <run>/.lock},
 * held while a run trains and released when its process ends, however it ends (kill -9
 * included). Two processes writing one folder would interleave checkpoints and metrics lines.
 */
public final class RunLock implements AutoCloseable {
    public static final String FILE = ".lock";

    private final FileChannel channel;
    private final FileLock lock;

    private RunLock(FileChannel channel, FileLock lock) {
        this.channel = channel;
        this.lock = lock;
    }

    /** Locks {@code dir} (which must exist) for this process, or says which process has it. */
    public static RunLock acquire(Path dir) throws IOException {
        Path file = dir.resolve(FILE);
        FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        FileLock lock;
        try {
            lock = channel.tryLock();
        } catch (OverlappingFileLockException sameProcess) {
            lock = null;
        }
        if (lock == null) {
            channel.close();
            String holder = Files.readString(file, StandardCharsets.UTF_8).strip();
            throw new ConfigException("output: " + dir + " is in use by another ShakeNet run (" + (holder.isEmpty() ? "unknown process" : holder)
                    + "); wait for it to finish, or stop it, then continue with: shakenet train --resume " + dir);
        }
        channel.truncate(0);
        channel.write(ByteBuffer.wrap(("pid " + ProcessHandle.current().pid() + "\n").getBytes(StandardCharsets.UTF_8)), 0);
        return new RunLock(channel, lock);
    }

    @Override
    public void close() throws IOException {
        try {
            lock.release();
        } finally {
            channel.close();
        }
    }
}
