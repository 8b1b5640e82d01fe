package dev.shakenet.train;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** An event file that cannot be written is named, with what to do. */
class TensorBoardLogTest {
    @TempDir
    Path tmp;

    @Test
    void aFolderThatCannotHoldTheEventFileIsNamed() throws Exception {
        Path notAFolder = Files.writeString(tmp.resolve("run"), "a file where the run folder should be");
        FileWriteException e = assertThrows(FileWriteException.class,
                () -> TensorBoardLog.open(notAFolder, RunConfig.DEFAULTS, 0, false));
        assertTrue(e.getMessage().startsWith("cannot write " + notAFolder.resolve("events.out.tfevents.*")), e.getMessage());
        assertTrue(e.getMessage().contains("tensorboard: false"), e.getMessage());
    }
}
