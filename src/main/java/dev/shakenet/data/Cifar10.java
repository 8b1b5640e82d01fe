package dev.shakenet.data;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;

/**
 * CIFAR-10 in the official binary format: data_batch_1..5.bin (training) and test_batch.bin,
 * 10,000 records of 3,073 bytes each (any whole number of records is read) (label 0..9, then 1,024 red, 1,024 green and 1,024 blue
 * bytes of a 32x32 image), read from the extracted {@code cifar-10-batches-bin/} folder or
 * straight from {@code cifar-10-binary.tar.gz}.
 */
public final class Cifar10 {
    public static final String FOLDER = "cifar-10-batches-bin";
    public static final String ARCHIVE = "cifar-10-binary.tar.gz";
    public static final List<String> TRAIN_FILES = List.of("data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
            "data_batch_4.bin", "data_batch_5.bin");
    public static final String TEST_FILE = "test_batch.bin";
    public static final int RECORD_BYTES = 1 + ImageSet.IMAGE_BYTES;
    public static final int RECORDS_PER_FILE = 10_000;
    public static final int CLASSES = 10;
    public static final List<String> CLASS_NAMES = List.of("airplane", "automobile", "bird", "cat", "deer", "dog", "frog",
            "horse", "ship", "truck");

    /** The training and test sets. */
    public record Splits(ImageSet train, ImageSet test) {}

    private Cifar10() {}

    /**
     * Reads CIFAR-10 from {@code path}: the {@value #FOLDER} folder itself, a folder holding it
     * or {@value #ARCHIVE}, or the archive itself.
     */
    public static Splits load(Path path) throws IOException {
        return load(path, 0, 0);
    }

    /** As {@link #load(Path)}, keeping only the first {@code trainLimit} / {@code testLimit} images (0: all). */
    public static Splits load(Path path, int trainLimit, int testLimit) throws IOException {
        Path source = find(path);
        if (source == null) {
            throw new DataException("no CIFAR-10 found at " + path + ": expected " + path.resolve(FOLDER)
                    + "/ (data_batch_1.bin ... data_batch_5.bin, test_batch.bin) or " + path.resolve(ARCHIVE)
                    + ". Point data.path at a copy, or set data.download: true to fetch the official archive.");
        }
        boolean folder = Files.isDirectory(source);
        Map<String, Long> sizes = folder ? folderSizes(source) : archiveSizes(source);
        // Each file's first image: the training files follow one another in TRAIN_FILES order.
        Map<String, Integer> first = new HashMap<>();
        int trainImages = 0;
        for (String name : TRAIN_FILES) {
            first.put(name, trainImages);
            trainImages += (int) (sizes.get(name) / RECORD_BYTES);
        }
        first.put(TEST_FILE, 0);
        RecordReader train = new RecordReader(trainImages, trainLimit);
        RecordReader test = new RecordReader((int) (sizes.get(TEST_FILE) / RECORD_BYTES), testLimit);
        Placement place = (name, in, where) -> {
            RecordReader into = name.equals(TEST_FILE) ? test : train;
            if (into.wants(first.get(name))) into.read(in, sizes.get(name), where, first.get(name));
        };
        if (folder) {
            readFolder(source, place);
        } else {
            readArchive(source, place);
        }
        return new Splits(train.build(), test.build());
    }

    /** Decodes one CIFAR-10 file, named by its base name, from {@code in}; {@code where} names it in messages. */
    private interface Placement {
        void read(String name, InputStream in, String where) throws IOException;
    }

    /** The folder or archive {@link #load} would read, or null when there is none. */
    public static Path find(Path path) {
        if (Files.isRegularFile(path)) return path;
        if (Files.isDirectory(path.resolve(FOLDER))) return path.resolve(FOLDER);
        if (Files.isRegularFile(path.resolve(ARCHIVE))) return path.resolve(ARCHIVE);
        if (Files.isDirectory(path) && Files.exists(path.resolve(TEST_FILE))) return path;
        return null;
    }

    private static Map<String, Long> folderSizes(Path folder) throws IOException {
        Map<String, Long> sizes = new HashMap<>();
        for (String name : allFiles()) {
            Path file = folder.resolve(name);
            if (!Files.isRegularFile(file)) throw new DataException(file + " is missing: a CIFAR-10 folder holds " + String.join(", ", allFiles()));
            checkSize(file.toString(), Files.size(file));
            sizes.put(name, Files.size(file));
        }
        return sizes;
    }

    private static void readFolder(Path folder, Placement place) throws IOException {
        for (String name : allFiles()) {
            Path file = folder.resolve(name);
            try (InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
                place.read(name, in, file.toString());
            }
        }
    }

    /** A first pass over the archive for the sizes of its CIFAR-10 files (about a second for the official one). */
    private static Map<String, Long> archiveSizes(Path archive) throws IOException {
        Map<String, Long> sizes = new HashMap<>();
        forEachEntry(archive, (tar, entry, name) -> {
            checkSize(archive + "!" + entry.name(), entry.size());
            sizes.put(name, entry.size());
        });
        for (String name : allFiles()) {
            if (!sizes.containsKey(name)) throw new DataException(archive + " has no " + name + ": is it the CIFAR-10 binary version?");
        }
        return sizes;
    }

    private static void readArchive(Path archive, Placement place) throws IOException {
        forEachEntry(archive, (tar, entry, name) -> place.read(name, tar.content(entry), archive + "!" + name));
    }

    private interface EntryVisitor {
        void visit(TarReader tar, TarReader.Entry entry, String name) throws IOException;
    }

    /** Calls {@code visitor} for each CIFAR-10 file of the archive, in the archive's order. */
    private static void forEachEntry(Path archive, EntryVisitor visitor) throws IOException {
        List<String> wanted = allFiles();
        try (InputStream in = new GZIPInputStream(new BufferedInputStream(Files.newInputStream(archive), 1 << 20), 1 << 16)) {
            TarReader tar = new TarReader(in);
            for (TarReader.Entry entry; (entry = tar.next()) != null; ) {
                String name = entry.name().substring(entry.name().lastIndexOf('/') + 1);
                if (wanted.contains(name)) visitor.visit(tar, entry, name);
            }
        } catch (java.util.zip.ZipException | java.io.EOFException e) {
            throw new DataException(archive + " is not a complete gzip-compressed tar archive (" + e.getMessage()
                    + "): download it again or extract it and point data.path at the folder");
        }
    }

    private static List<String> allFiles() {
        List<String> all = new ArrayList<>(TRAIN_FILES);
        all.add(TEST_FILE);
        return all;
    }

    /** Official files hold 10,000 records; any whole, non-zero number of records is accepted (test fixtures, subsets). */
    private static void checkSize(String file, long size) {
        if (size == 0 || size % RECORD_BYTES != 0) {
            throw new DataException(file + " has " + size + " bytes, not a whole number of " + RECORD_BYTES + "-byte records (a label byte "
                    + "and 3,072 pixel bytes; an official file has " + RECORDS_PER_FILE + " records, " + (long) RECORDS_PER_FILE * RECORD_BYTES
                    + " bytes). It is truncated or not CIFAR-10's binary format.");
        }
    }
}
