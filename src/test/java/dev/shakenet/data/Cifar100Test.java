package dev.shakenet.data;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** CIFAR-100 in its official binary layout (coarse label byte, fine label byte, 3,072 pixel bytes; train.bin, test.bin). */
class Cifar100Test {
    @TempDir
    Path tmp;

    @Test
    void readsFineLabelsByDefaultAndCoarseOnesWhenAsked() throws IOException {
        CifarFiles.writeCifar100Folder(tmp, 250, 40);
        Cifar.Splits fine = Cifar.load(CifarFormat.CIFAR100, tmp, 0, 0);
        assertEquals(250, fine.train().count());
        assertEquals(40, fine.test().count());
        for (int i = 0; i < 250; i++) assertEquals(CifarFiles.fineLabel(0, i), fine.train().label(i), "fine label of train record " + i);
        for (int i = 0; i < 40; i++) assertEquals(CifarFiles.fineLabel(1, i), fine.test().label(i), "fine label of test record " + i);
        Cifar.Splits coarse = Cifar.load(CifarFormat.CIFAR100_COARSE, tmp, 0, 0);
        for (int i = 0; i < 250; i++) assertEquals(CifarFiles.coarseLabel(0, i), coarse.train().label(i), "coarse label of record " + i);
        // the pixels start after both label bytes: channel c at (y, x) of image i, as written
        for (int i : new int[] {0, 17, 249}) {
            for (int c = 0; c < 3; c++) {
                assertEquals(CifarFiles.pixel(0, i, c, 5, 9), fine.train().pixels()[i * ImageSet.IMAGE_BYTES + c * 1024 + 5 * 32 + 9] & 0xff);
            }
        }
        assertArrayEquals(fine.train().pixels(), coarse.train().pixels());
    }

    @Test
    void readsTheArchiveAndHonoursLimits() throws Exception {
        Path folder = CifarFiles.writeCifar100Folder(tmp.resolve("x"), 30, 12);
        Path archive = tmp.resolve("cifar-100-binary.tar.gz");
        Process tar = new ProcessBuilder("tar", "czf", archive.toString(), "-C", folder.getParent().toString(), folder.getFileName().toString())
                .inheritIO().start();
        assertTrue(tar.waitFor(30, TimeUnit.SECONDS) && tar.exitValue() == 0);
        Cifar.Splits splits = Cifar.load(CifarFormat.CIFAR100, tmp, 20, 5); // the folder holding the archive
        assertEquals(20, splits.train().count());
        assertEquals(5, splits.test().count());
        assertEquals(CifarFiles.fineLabel(0, 19), splits.train().label(19));
        assertEquals(archive, Cifar.find(CifarFormat.CIFAR100, tmp));
    }

    @Test
    void aLabelPastTheClassesATruncatedFileAndAMissingFileAreNamed() throws IOException {
        Path folder = CifarFiles.writeCifar100Folder(tmp.resolve("bad-label"), 10, 4);
        byte[] train = Files.readAllBytes(folder.resolve("train.bin"));
        train[3 * CifarFormat.CIFAR100.recordBytes() + 1] = 100; // record 3's fine label
        Files.write(folder.resolve("train.bin"), train);
        DataException e = assertThrows(DataException.class, () -> Cifar.load(CifarFormat.CIFAR100, folder, 0, 0));
        assertTrue(e.getMessage().contains("train.bin: record 3 has label 100; CIFAR-100 labels are 0..99"), e.getMessage());

        Path cut = CifarFiles.writeCifar100Folder(tmp.resolve("cut"), 10, 4);
        Files.write(cut.resolve("test.bin"), java.util.Arrays.copyOf(Files.readAllBytes(cut.resolve("test.bin")), 3074 * 3 + 100));
        e = assertThrows(DataException.class, () -> Cifar.load(CifarFormat.CIFAR100, cut, 0, 0));
        assertTrue(e.getMessage().contains("test.bin has 9322 bytes, not a whole number of 3074-byte records (2 label bytes and 3,072 pixel bytes; "
                + "an official training file has 50,000 records, 153,700,000 bytes)"), e.getMessage());

        Path lacking = CifarFiles.writeCifar100Folder(tmp.resolve("lacking"), 10, 4);
        Files.delete(lacking.resolve("train.bin"));
        e = assertThrows(DataException.class, () -> Cifar.load(CifarFormat.CIFAR100, lacking, 0, 0));
        assertTrue(e.getMessage().contains("train.bin is missing: a CIFAR-100 folder holds train.bin, test.bin"), e.getMessage());

        e = assertThrows(DataException.class, () -> Cifar.load(CifarFormat.CIFAR100, tmp.resolve("nothing"), 0, 0));
        assertTrue(e.getMessage().startsWith("no CIFAR-100 found at " + tmp.resolve("nothing")), e.getMessage());
    }

    @Test
    void cifar10FilesReadAsCifar100AreRefusedAndTheOtherWayRound() throws IOException {
        CifarFiles.writeFolder(tmp.resolve("ten"), 6);
        DataException e = assertThrows(DataException.class, () -> Cifar.load(CifarFormat.CIFAR100, tmp.resolve("ten"), 0, 0));
        assertTrue(e.getMessage().startsWith("no CIFAR-100 found at " + tmp.resolve("ten") + ": expected " + tmp.resolve("ten/cifar-100-binary")
                + "/ (train.bin, test.bin) or " + tmp.resolve("ten/cifar-100-binary.tar.gz")), e.getMessage());
        Path hundred = CifarFiles.writeCifar100Folder(tmp.resolve("hundred"), 30, 10);
        assertNull(Cifar.find(CifarFormat.CIFAR10, hundred.getParent()), "no CIFAR-10 folder or archive there");
    }

    @Test
    void theFormatsHoldTheOfficialFacts() {
        assertEquals(100, CifarFormat.CIFAR100.classes());
        assertEquals(20, CifarFormat.CIFAR100_COARSE.classes());
        assertEquals("apple", CifarFormat.CIFAR100.classNames().getFirst());
        assertEquals("worm", CifarFormat.CIFAR100.classNames().getLast());
        assertEquals("vehicles_2", CifarFormat.CIFAR100_COARSE.classNames().getLast());
        assertEquals(100, CifarFormat.CIFAR100.classNames().stream().distinct().count());
        assertEquals("03b5dce01913d631647c71ecec9e9cb8", CifarFormat.CIFAR100.md5()); // cifar-100-binary.tar.gz, 168,513,733 bytes
        assertEquals("https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz", CifarFormat.CIFAR100.url().toString());
        assertEquals(3074, CifarFormat.CIFAR100.recordBytes());
        assertEquals(3073, CifarFormat.CIFAR10.recordBytes());
    }
}
