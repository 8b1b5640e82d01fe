package dev.shakenet.train;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Locale;

/**
 * A file could not be written (a full disk, say). The message names the file, the reason, the
 * free space on its file system and the size needed, and what became of the previous content.
 */
public final class FileWriteException extends IOException {
    private FileWriteException(String message, Throwable cause) {
        super(message, cause);
    }

    /**
     * The failure to write {@code target} for {@code cause}, needing about {@code neededBytes}
     * (0: unknown); {@code outcome} says what is left, e.g. "the previous file is intact".
     */
    static FileWriteException of(Path target, IOException cause, long neededBytes, String outcome) {
        long free = usableSpace(target.toAbsolutePath().getParent());
        String space = (free < 0 ? "free space unknown" : mb(free) + " free on its file system")
                + (neededBytes > 0 ? ", about " + mb(neededBytes) + " needed" : "");
        return new FileWriteException("cannot write " + target + ": " + reason(cause) + " (" + space + "); " + outcome, cause);
    }

    /** This failure with what to do next added to its message. */
    public FileWriteException withAdvice(String advice) {
        FileWriteException e = new FileWriteException(getMessage() + "; " + advice, getCause());
        e.setStackTrace(getStackTrace());
        return e;
    }

    /** The usable bytes on the file system of {@code dir} (or of its nearest existing parent); -1 when unknown. */
    static long usableSpace(Path dir) {
        for (Path p = dir; p != null; p = p.getParent()) {
            if (!Files.isDirectory(p)) continue;
            try {
                return Files.getFileStore(p).getUsableSpace();
            } catch (IOException e) {
                return -1;
            }
        }
        return -1;
    }

    /** Why an I/O operation failed, in words, with the file it failed on where Java names one. */
    static String reason(IOException e) {
        String why = switch (e) {
            case AccessDeniedException a -> "permission denied";
            case NoSuchFileException n -> "no such file or folder";
            case FileAlreadyExistsException f -> "it exists and is not a folder";
            case FileSystemException f when f.getReason() != null -> f.getReason();
            default -> null;
        };
        if (why != null) return ((FileSystemException) e).getFile() == null ? why : why + ": " + ((FileSystemException) e).getFile();
        return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    }

    static String mb(long bytes) {
        return String.format(Locale.ROOT, "%.1f MB", bytes / 1e6);
    }
}
