package dev.shakenet.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** Writes small data sets in CIFAR-10's official binary layout for tests. */
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
}
