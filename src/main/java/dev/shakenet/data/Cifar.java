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
 * A CIFAR data set in its official binary format ({@link CifarFormat}: CIFAR-10's
 * data_batch_1..5.bin and test_batch.bin, CIFAR-100's train.bin and test.bin), records of label
 * bytes then 1,024 red, 1,024 green and 1,024 blue bytes of a 32x32 image, any whole number of
 * records a file, read from the extracted folder or straight from the official .tar.gz.
 */
public final class Cifar {
    /** The training and test sets. */
    public record Splits(ImageSet train, ImageSet test) {}

    private final CifarFormat format;

    private Cifar(CifarFormat format) {
        this.format = format;
    }

    /**
     * Reads {@code format}'s set from {@code path}: its folder itself, a folder holding it or its
     * archive, or the archive itself, keeping only the first {@code trainLimit} / {@code testLimit}
     * images (0: all).
     */
    public static Splits load(CifarFormat format, Path path, int trainLimit, int testLimit) throws IOException {
        return new Cifar(format).load(path, trainLimit, testLimit);
    }

    /** The folder or archive {@link #load} would read, or null when there is none. */
    public static Path find(CifarFormat format, Path path) {
        return new Cifar(format).find(path);
    }

    private Splits load(Path path, int trainLimit, int testLimit) throws IOException {
        Path source = find(path);
        if (source == null) {
            throw new DataException("no " + format.name() + " found at " + path + ": expected " + path.resolve(format.folder())
                    + "/ (" + String.join(", ", format.allFiles()) + ") or " + path.resolve(format.archive())
                    + ". Point data.path at a copy, or set data.download: true to fetch the official archive.");
        }
        boolean folder = Files.isDirectory(source);
        Map<String, Long> sizes = folder ? folderSizes(source) : archiveSizes(source);
        // Each file's first image: the training files follow one another in the format's order.
        Map<String, Integer> first = new HashMap<>();
        int trainImages = 0;
        for (String name : format.trainFiles()) {
            first.put(name, trainImages);
            trainImages += (int) (sizes.get(name) / format.recordBytes());
        }
        first.put(format.testFile(), 0);
        RecordReader train = new RecordReader(format, trainImages, trainLimit);
        RecordReader test = new RecordReader(format, (int) (sizes.get(format.testFile()) / format.recordBytes()), testLimit);
        Placement place = (name, in, where) -> {
            RecordReader into = name.equals(format.testFile()) ? test : train;
            if (into.wants(first.get(name))) into.read(in, sizes.get(name), where, first.get(name));
        };
        if (folder) {
            readFolder(source, place);
        } else {
            readArchive(source, place);
        }
        return new Splits(train.build(), test.build());
    }

    /** Decodes one file of the set, named by its base name, from {@code in}; {@code where} names it in messages. */
    private interface Placement {
        void read(String name, InputStream in, String where) throws IOException;
    }

    private Path find(Path path) {
        if (Files.isRegularFile(path)) return path;
        if (Files.isDirectory(path.resolve(format.folder()))) return path.resolve(format.folder());
        if (Files.isRegularFile(path.resolve(format.archive()))) return path.resolve(format.archive());
        if (Files.isDirectory(path) && Files.exists(path.resolve(format.testFile()))) return path;
        return null;
    }

    private Map<String, Long> folderSizes(Path folder) throws IOException {
        Map<String, Long> sizes = new HashMap<>();
        for (String name : format.allFiles()) {
            Path file = folder.resolve(name);
            if (!Files.isRegularFile(file)) throw new DataException(file + " is missing: a " + format.name() + " folder holds " + String.join(", ", format.allFiles()));
            checkSize(file.toString(), Files.size(file));
            sizes.put(name, Files.size(file));
        }
        return sizes;
    }

    private void readFolder(Path folder, Placement place) throws IOException {
        for (String name : format.allFiles()) {
            Path file = folder.resolve(name);
            try (InputStream in = new BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
                place.read(name, in, file.toString());
            }
        }
    }

    /** A first pass over the archive for the sizes of the set's files (about a second for the official one). */
    private Map<String, Long> archiveSizes(Path archive) throws IOException {
        Map<String, Long> sizes = new HashMap<>();
        forEachEntry(archive, (tar, entry, name) -> {
            checkSize(archive + "!" + entry.name(), entry.size());
            sizes.put(name, entry.size());
        });
        for (String name : format.allFiles()) {
            if (!sizes.containsKey(name)) throw new DataException(archive + " has no " + name + ": is it the " + format.name() + " binary version?");
        }
        return sizes;
    }

    private void readArchive(Path archive, Placement place) throws IOException {
        forEachEntry(archive, (tar, entry, name) -> place.read(name, tar.content(entry), archive + "!" + name));
    }

    private interface EntryVisitor {
        void visit(TarReader tar, TarReader.Entry entry, String name) throws IOException;
    }

    /** Calls {@code visitor} for each file of the set in the archive, in the archive's order. */
    private void forEachEntry(Path archive, EntryVisitor visitor) throws IOException {
        List<String> wanted = format.allFiles();
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

    /** Any whole, non-zero number of records is accepted (test fixtures, subsets). */
    private void checkSize(String file, long size) {
        int record = format.recordBytes(), official = format.recordsPerTrainFile();
        if (size == 0 || size % record != 0) {
            throw new DataException(file + " has " + size + " bytes, not a whole number of " + record + "-byte records ("
                    + (format.labelBytes() == 1 ? "a label byte" : format.labelBytes() + " label bytes") + " and 3,072 pixel bytes; an "
                    + "official training file has " + String.format("%,d", official) + " records, " + String.format("%,d", (long) official * record)
                    + " bytes). It is truncated or not " + format.name() + "'s binary format.");
        }
    }
}
