package dev.shakenet.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Writes small data sets in CIFAR-10's and CIFAR-100's official binary layouts for tests. */
public final class CifarFiles {
    private CifarFiles() {}

    /** The pixel value of channel c at (y, x) of image `image` of a file: a pattern the tests can predict. */
    public static int pixel(int file, int image, int c, int y, int x) {
        return (file * 37 + image * 11 + c * 50 + y * 3 + x) & 0xff;
    }

    /** One record: label, then 1024 red, 1024 green, 1024 blue bytes, row-major. */
    static byte[] records(int file, int count, int labelOffset) {
        byte[] raw = new byte[count * Cifar10.RECORD_BYTES];
        for (int i = 0; i < count; i++) {
            int at = i * Cifar10.RECORD_BYTES;
            raw[at] = (byte) ((i + labelOffset) % 10);
            for (int c = 0; c < 3; c++)
                for (int y = 0; y < 32; y++)
                    for (int x = 0; x < 32; x++) raw[at + 1 + c * 1024 + y * 32 + x] = (byte) pixel(file, i, c, y, x);
        }
        return raw;
    }

    /** A cifar-10-batches-bin folder under {@code root} with {@code perFile} records in each of the six files. */
    public static Path writeFolder(Path root, int perFile) throws IOException {
        Path folder = Files.createDirectories(root.resolve(Cifar10.FOLDER));
        List<String> names = new java.util.ArrayList<>(Cifar10.TRAIN_FILES);
        names.add(Cifar10.TEST_FILE);
        for (int f = 0; f < names.size(); f++) Files.write(folder.resolve(names.get(f)), records(f, perFile, f));
        Files.writeString(folder.resolve("batches.meta.txt"), String.join("\n", Cifar10.CLASS_NAMES) + "\n");
        return folder;
    }

    /** CIFAR-100's fine label of record i of a file: 0..99 over the records. */
    public static int fineLabel(int file, int i) {
        return (i * 7 + file * 13) % 100;
    }

    /** Its coarse label (any function of the record will do for the reader; this one is checkable). */
    public static int coarseLabel(int file, int i) {
        return fineLabel(file, i) / 5;
    }

    /** CIFAR-100 records: coarse label, fine label, then the pixels as {@link #records} lays them. */
    static byte[] cifar100Records(int file, int count) {
        int bytes = CifarFormat.CIFAR100.recordBytes();
        byte[] raw = new byte[count * bytes];
        for (int i = 0; i < count; i++) {
            int at = i * bytes;
            raw[at] = (byte) coarseLabel(file, i);
            raw[at + 1] = (byte) fineLabel(file, i);
            for (int c = 0; c < 3; c++)
                for (int y = 0; y < 32; y++)
                    for (int x = 0; x < 32; x++) raw[at + 2 + c * 1024 + y * 32 + x] = (byte) pixel(file, i, c, y, x);
        }
        return raw;
    }

    /** A cifar-100-binary folder under {@code root}: train.bin (file 0) and test.bin (file 1) with the given numbers of records. */
    public static Path writeCifar100Folder(Path root, int train, int test) throws IOException {
        Path folder = Files.createDirectories(root.resolve(CifarFormat.CIFAR100.folder()));
        Files.write(folder.resolve("train.bin"), cifar100Records(0, train));
        Files.write(folder.resolve("test.bin"), cifar100Records(1, test));
        Files.writeString(folder.resolve("fine_label_names.txt"), String.join("\n", CifarFormat.CIFAR100.classNames()) + "\n");
        Files.writeString(folder.resolve("coarse_label_names.txt"), String.join("\n", CifarFormat.CIFAR100_COARSE.classNames()) + "\n");
        return folder;
    }
}
