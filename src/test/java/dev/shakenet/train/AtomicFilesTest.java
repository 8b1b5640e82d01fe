package dev.shakenet.train;

import static org.junit.jupiter.api.Assertions.*;

import dev.shakenet.torch.DType;
import dev.shakenet.torch.Device;
import dev.shakenet.torch.Tensor;
import dev.shakenet.torch.TensorFiles;
import dev.shakenet.torch.TensorScope;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Failed writes (a full disk, injected or real): the message names file and space, no temporary file stays, the old file is kept. */
class AtomicFilesTest {
    @TempDir
    Path tmp;

    /** A previous file in {@code dir}; returns it. */
    private static Path previous(Path dir) throws IOException {
        Path target = dir.resolve("epoch-0003.pt");
        AtomicFiles.write(target, path -> Files.write(path, new byte[100_000]));
        return target;
    }

    private static void assertFailedCleanly(FileWriteException e, Path target, byte[] before) throws IOException {
        assertTrue(e.getMessage().startsWith("cannot write " + target + ": "), e.getMessage());
        assertTrue(e.getMessage().contains(" free on its file system, about ") && e.getMessage().contains(" MB needed)"), e.getMessage());
        assertTrue(e.getMessage().endsWith("; the previous file is intact"), e.getMessage());
        assertArrayEquals(before, Files.readAllBytes(target), "the previous file byte for byte");
        try (var files = Files.list(target.getParent())) {
            assertEquals(java.util.List.of(target), files.toList(), "no temporary file");
        }
    }

    @Test
    void aWriterThatRunsOutOfSpaceLeavesThePreviousFile() throws IOException {
        Path target = previous(tmp);
        byte[] before = Files.readAllBytes(target);
        FileWriteException e = assertThrows(FileWriteException.class, () -> AtomicFiles.write(target, 23_400_000, path -> {
            Files.write(path, new byte[50_000]);
            throw new IOException("No space left on device");
        }, path -> fail("no check after a failed write")));
        assertTrue(e.getMessage().contains(": No space left on device (") && e.getMessage().contains("about 23.4 MB needed"), e.getMessage());
        assertFailedCleanly(e, target, before);
    }

    @Test
    void tooLittleSpaceFailsBeforeAnythingIsWritten() throws IOException {
        Path target = previous(tmp);
        byte[] before = Files.readAllBytes(target);
        AtomicBoolean wrote = new AtomicBoolean();
        FileWriteException e = assertThrows(FileWriteException.class,
                () -> AtomicFiles.write(target, Long.MAX_VALUE / 2, path -> wrote.set(true), path -> {}));
        assertFalse(wrote.get(), "the writer never ran");
        assertTrue(e.getMessage().contains(": not enough free space ("), e.getMessage());
        assertFailedCleanly(e, target, before);
    }

    @Test
    void aRealFullDiskLeavesThePreviousFile() throws Exception {
        Path small = Files.createDirectories(tmp.resolve("small"));
        String why;
        try {
            Process mount = new ProcessBuilder("mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", small.toString()).redirectErrorStream(true).start();
            why = new String(mount.getInputStream().readAllBytes()).strip();
            if (mount.waitFor(30, TimeUnit.SECONDS) && mount.exitValue() == 0) why = null;
        } catch (IOException e) {
            why = e.getMessage();
        }
        Assumptions.assumeTrue(why == null, "cannot mount a 2 MB tmpfs (needs root or CAP_SYS_ADMIN), real full-disk test skipped: " + why);
        try (TensorScope scope = TensorScope.open()) {
            Path target = previous(small);
            byte[] before = Files.readAllBytes(target);
            Map<String, Tensor> tensors = Map.of("model.fc.weight", Tensor.zeros(DType.FLOAT32, Device.CPU, 1_000_000)); // 4 MB
            // An estimate the preflight lets through, as when another process fills the disk during the write.
            FileWriteException e = assertThrows(FileWriteException.class,
                    () -> AtomicFiles.write(target, 1_000_000, path -> TensorFiles.save(path, tensors), TensorFiles::verify));
            assertTrue(e.getMessage().contains(": No space left on device ("), e.getMessage());
            assertFailedCleanly(e, target, before);
        } finally {
            new ProcessBuilder("umount", small.toString()).inheritIO().start().waitFor(30, TimeUnit.SECONDS);
        }
    }
}
