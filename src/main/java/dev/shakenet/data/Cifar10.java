package dev.shakenet.data;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/** CIFAR-10's names and files ({@link CifarFormat#CIFAR10}), read by {@link Cifar}. */
public final class Cifar10 {
    public static final String FOLDER = CifarFormat.CIFAR10.folder();
    public static final String ARCHIVE = CifarFormat.CIFAR10.archive();
    public static final List<String> TRAIN_FILES = CifarFormat.CIFAR10.trainFiles();
    public static final String TEST_FILE = CifarFormat.CIFAR10.testFile();
    public static final int RECORD_BYTES = CifarFormat.CIFAR10.recordBytes();
    public static final int RECORDS_PER_FILE = 10_000;
    public static final int CLASSES = CifarFormat.CIFAR10.classes();
    public static final List<String> CLASS_NAMES = CifarFormat.CIFAR10.classNames();

    private Cifar10() {}

    /** CIFAR-10 from {@code path} (its folder, a folder holding it or the archive, or the archive itself). */
    public static Cifar.Splits load(Path path) throws IOException {
        return load(path, 0, 0);
    }

    /** As {@link #load(Path)}, keeping only the first {@code trainLimit} / {@code testLimit} images (0: all). */
    public static Cifar.Splits load(Path path, int trainLimit, int testLimit) throws IOException {
        return Cifar.load(CifarFormat.CIFAR10, path, trainLimit, testLimit);
    }

    /** The folder or archive {@link #load} would read, or null when there is none. */
    public static Path find(Path path) {
        return Cifar.find(CifarFormat.CIFAR10, path);
    }
}
