package dev.shakenet.train;

import java.nio.file.Path;

/** A checkpoint file fails its checks (a record's CRC-32, a truncated or incomplete zip): its bytes are not what was written. */
public final class DamagedCheckpointException extends CheckpointException {
    private final Path file;

    public DamagedCheckpointException(Path file, String message) {
        super(message);
        this.file = file;
    }

    public Path file() {
        return file;
    }
}
