package dev.shakenet.data;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading the official binary layout from a folder and from a .tar.gz, and the errors for bad files. */
class Cifar10Test {
    @TempDir
    Path tmp;

    @Test
    void readsAFolderInFileOrder() throws IOException {
        CifarFiles.writeFolder(tmp, 7);
        Cifar.Splits s = Cifar10.load(tmp);
        assertEquals(35, s.train().count());
        assertEquals(7, s.test().count());
        // Image 2 of data_batch_3 (file 2) is training image 2*7+2 = 16; its label is (2+2) % 10.
        assertEquals(4, s.train().label(16));
        byte[] px = s.train().pixels();
        int base = 16 * ImageSet.IMAGE_BYTES;
        assertEquals(CifarFiles.pixel(2, 2, 0, 0, 0), px[base] & 0xff);
        assertEquals(CifarFiles.pixel(2, 2, 1, 5, 9), px[base + 1024 + 5 * 32 + 9] & 0xff);
        assertEquals(CifarFiles.pixel(2, 2, 2, 31, 31), px[base + 3071] & 0xff);
        assertEquals(5, s.test().label(0), "test_batch.bin is file 5");
        assertEquals(s.train().count(), Cifar10.load(tmp.resolve(Cifar10.FOLDER)).train().count(), "the folder itself works too");
    }

    @Test
    void readsTheTarGzArchiveLikeTheFolder() throws Exception {
        CifarFiles.writeFolder(tmp, 3);
        Path archive = tmp.resolve("archive").resolve(Cifar10.ARCHIVE);
        Files.createDirectories(archive.getParent());
        // The system's tar is the independent writer of the archive.
        Process tar = new ProcessBuilder("tar", "czf", archive.toString(), "-C", tmp.toString(), Cifar10.FOLDER).inheritIO().start();
        assertEquals(0, tar.waitFor());
        Cifar.Splits fromArchive = Cifar10.load(archive);
        Cifar.Splits fromFolder = Cifar10.load(tmp);
        assertArrayEquals(fromFolder.train().pixels(), fromArchive.train().pixels());
        assertArrayEquals(fromFolder.train().labels(), fromArchive.train().labels());
        assertArrayEquals(fromFolder.test().pixels(), fromArchive.test().pixels());
        assertEquals(15, Cifar10.load(archive.getParent()).train().count(), "a folder holding the archive works too");
    }

    @Test
    void anArchiveInAnyOrderGivesTheImagesInFileOrder() throws Exception {
        CifarFiles.writeFolder(tmp, 3);
        Path archive = tmp.resolve(Cifar10.ARCHIVE);
        // The shared official archive holds its files in this order.
        String d = Cifar10.FOLDER + "/";
        Process tar = new ProcessBuilder("tar", "czf", archive.toString(), "-C", tmp.toString(), d + "data_batch_4.bin",
                d + "data_batch_5.bin", d + "data_batch_2.bin", d + "data_batch_1.bin", d + "data_batch_3.bin", d + "test_batch.bin")
                .inheritIO().start();
        assertEquals(0, tar.waitFor());
        Cifar.Splits fromArchive = Cifar10.load(archive);
        Cifar.Splits fromFolder = Cifar10.load(tmp.resolve(Cifar10.FOLDER));
        assertArrayEquals(fromFolder.train().pixels(), fromArchive.train().pixels());
        assertArrayEquals(fromFolder.train().labels(), fromArchive.train().labels());
        assertArrayEquals(fromFolder.test().labels(), fromArchive.test().labels());
    }

    @Test
    void limitsKeepTheFirstImagesAcrossFiles() throws Exception {
        CifarFiles.writeFolder(tmp, 3);
        Cifar.Splits all = Cifar10.load(tmp);
        Cifar.Splits some = Cifar10.load(tmp, 8, 2); // files 1 and 2 whole, 2 images of file 3
        assertEquals(8, some.train().count());
        assertEquals(2, some.test().count());
        assertArrayEquals(java.util.Arrays.copyOf(all.train().pixels(), 8 * ImageSet.IMAGE_BYTES), some.train().pixels());
        assertArrayEquals(java.util.Arrays.copyOf(all.train().labels(), 8), some.train().labels());
        assertArrayEquals(java.util.Arrays.copyOf(all.test().labels(), 2), some.test().labels());
        assertEquals(15, Cifar10.load(tmp, 100, 0).train().count(), "a limit above the count keeps all");
    }

    @Test
    void missingFilesAreNamed() throws IOException {
        Path folder = CifarFiles.writeFolder(tmp, 2);
        Files.delete(folder.resolve("data_batch_4.bin"));
        DataException e = assertThrows(DataException.class, () -> Cifar10.load(tmp));
        assertTrue(e.getMessage().contains("data_batch_4.bin is missing"), e.getMessage());
        DataException none = assertThrows(DataException.class, () -> Cifar10.load(tmp.resolve("nowhere")));
        assertTrue(none.getMessage().contains("no CIFAR-10 found at") && none.getMessage().contains("data.download"), none.getMessage());
    }

    @Test
    void truncatedFilesAreNamedWithTheExpectedSize() throws IOException {
        Path folder = CifarFiles.writeFolder(tmp, 2);
        byte[] raw = Files.readAllBytes(folder.resolve("test_batch.bin"));
        Files.write(folder.resolve("test_batch.bin"), java.util.Arrays.copyOf(raw, raw.length - 100));
        DataException e = assertThrows(DataException.class, () -> Cifar10.load(tmp));
        assertTrue(e.getMessage().contains("test_batch.bin has 6046 bytes, not a whole number of 3073-byte records"), e.getMessage());
    }

    @Test
    void labelsOutsideTheTenClassesAreNamedWithTheRecord() throws IOException {
        Path folder = CifarFiles.writeFolder(tmp, 3);
        byte[] raw = Files.readAllBytes(folder.resolve("data_batch_2.bin"));
        raw[2 * Cifar10.RECORD_BYTES] = 57;
        Files.write(folder.resolve("data_batch_2.bin"), raw);
        DataException e = assertThrows(DataException.class, () -> Cifar10.load(tmp));
        assertTrue(e.getMessage().contains("data_batch_2.bin: record 2 has label 57; CIFAR-10 labels are 0..9"), e.getMessage());
    }

    @Test
    void aBrokenArchiveIsReportedNotTrusted() throws IOException {
        Path archive = tmp.resolve(Cifar10.ARCHIVE);
        Files.write(archive, "this is not gzip".getBytes());
        DataException e = assertThrows(DataException.class, () -> Cifar10.load(archive));
        assertTrue(e.getMessage().contains("not a complete gzip-compressed tar archive"), e.getMessage());
    }
}
