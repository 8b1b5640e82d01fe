package dev.shakenet.torch;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A torch.save file whose bytes are not what was written: a record fails its CRC-32 check, is
 * missing or has the wrong size, or the zip ends early. The message names the file and the record.
 */
public final class DamagedFileException extends IOException {
    private final transient Path file;

    public DamagedFileException(Path file, String problem) {
        super(file + " is damaged: " + problem);
        this.file = file;
    }

    public Path file() {
        return file;
    }
}
