package dev.shakenet.data;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
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
        Path source = find(path);
        if (source == null) {
            throw new DataException("no CIFAR-10 found at " + path + ": expected " + path.resolve(FOLDER)
                    + "/ (data_batch_1.bin ... data_batch_5.bin, test_batch.bin) or " + path.resolve(ARCHIVE)
                    + ". Point data.path at a copy, or set data.download: true to fetch the official archive.");
        }
        Map<String, byte[]> files = Files.isDirectory(source) ? readFolder(source) : readArchive(source);
        List<byte[]> train = new ArrayList<>();
        for (String name : TRAIN_FILES) train.add(files.get(name));
        return new Splits(decode(train, TRAIN_FILES, source), decode(List.of(files.get(TEST_FILE)), List.of(TEST_FILE), source));
    }

    /** The folder or archive {@link #load} would read, or null when there is none. */
    public static Path find(Path path) {
        if (Files.isRegularFile(path)) return path;
        if (Files.isDirectory(path.resolve(FOLDER))) return path.resolve(FOLDER);
        if (Files.isRegularFile(path.resolve(ARCHIVE))) return path.resolve(ARCHIVE);
        if (Files.isDirectory(path) && Files.exists(path.resolve(TEST_FILE))) return path;
        return null;
    }

    private static Map<String, byte[]> readFolder(Path folder) throws IOException {
        Map<String, byte[]> files = new LinkedHashMap<>();
        for (String name : allFiles()) {
            Path file = folder.resolve(name);
            if (!Files.isRegularFile(file)) throw new DataException(file + " is missing: a CIFAR-10 folder holds " + String.join(", ", allFiles()));
            checkSize(file.toString(), Files.size(file));
            files.put(name, Files.readAllBytes(file));
        }
        return files;
    }

    private static Map<String, byte[]> readArchive(Path archive) throws IOException {
        Map<String, byte[]> files = new LinkedHashMap<>();
        List<String> wanted = allFiles();
        try (InputStream in = new GZIPInputStream(new BufferedInputStream(Files.newInputStream(archive), 1 << 20), 1 << 16)) {
            TarReader tar = new TarReader(in);
            for (TarReader.Entry entry; (entry = tar.next()) != null; ) {
                String base = entry.name().substring(entry.name().lastIndexOf('/') + 1);
                if (!wanted.contains(base)) continue;
                checkSize(archive + "!" + entry.name(), entry.size());
                files.put(base, tar.read(entry));
            }
        } catch (java.util.zip.ZipException | java.io.EOFException e) {
            throw new DataException(archive + " is not a complete gzip-compressed tar archive (" + e.getMessage()
                    + "): download it again or extract it and point data.path at the folder");
        }
        for (String name : wanted) {
            if (!files.containsKey(name)) throw new DataException(archive + " has no " + name + ": is it the CIFAR-10 binary version?");
        }
        return files;
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

    /** Splits raw records into pixels and labels, checking every label is a CIFAR-10 class. */
    static ImageSet decode(List<byte[]> files, List<String> names, Path source) {
        int count = 0;
        for (byte[] f : files) count += f.length / RECORD_BYTES;
        byte[] pixels = new byte[count * ImageSet.IMAGE_BYTES];
        byte[] labels = new byte[count];
        int image = 0;
        for (int f = 0; f < files.size(); f++) {
            byte[] raw = files.get(f);
            for (int r = 0; r < raw.length / RECORD_BYTES; r++, image++) {
                int label = raw[r * RECORD_BYTES] & 0xff;
                if (label >= CLASSES) {
                    throw new DataException(source + "/" + names.get(f) + ": record " + r + " has label " + label
                            + "; CIFAR-10 labels are 0..9 (is this CIFAR-100, or not CIFAR at all?)");
                }
                labels[image] = (byte) label;
                System.arraycopy(raw, r * RECORD_BYTES + 1, pixels, image * ImageSet.IMAGE_BYTES, ImageSet.IMAGE_BYTES);
            }
        }
        return new ImageSet(pixels, labels, count);
    }
}
