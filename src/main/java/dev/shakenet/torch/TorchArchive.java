package dev.shakenet.torch;

import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipException;
import java.util.zip.ZipFile;

/**
 * A torch.save zip opened for reading: its data.pkl parsed into named tensor references, and
 * every record read checked against the size and CRC-32 the zip's directory stores. ZipFile
 * checks neither for STORED entries, so without this a damaged file would load as wrong numbers.
 */
final class TorchArchive implements AutoCloseable {
    private static final byte[] ZIP_MAGIC = {'P', 'K', 3, 4};

    private final Path path;
    private final ZipFile zip;
    private final String root;
    private final Map<String, PickleReader.TensorRef> tensors;
    private final Map<String, List<String>> users = new HashMap<>(); // storage key -> the tensors on it

    private TorchArchive(Path path, ZipFile zip) throws IOException {
        this.path = path;
        this.zip = zip;
        root = zip.stream().map(ZipEntry::getName).filter(n -> n.endsWith("data.pkl")).findFirst()
                .map(n -> n.substring(0, n.length() - "data.pkl".length()))
                .orElseThrow(() -> new IOException(path + " has no data.pkl: it is not a torch.save file"));
        ZipEntry order = zip.getEntry(root + "byteorder");
        if (order != null && !new String(read(order), StandardCharsets.US_ASCII).trim().equals("little")) {
            throw new IOException(path + " was written on a big-endian machine; only little-endian files are read");
        }
        tensors = parse(read(zip.getEntry(root + "data.pkl")));
        tensors.forEach((name, ref) -> users.computeIfAbsent(ref.storage().key(), k -> new ArrayList<>()).add(name));
    }

    static TorchArchive open(Path path) throws IOException {
        ZipFile zip = openZip(path);
        try {
            return new TorchArchive(path, zip);
        } catch (IOException | RuntimeException e) {
            zip.close();
            throw e;
        }
    }

    private static ZipFile openZip(Path path) throws IOException {
        try {
            return new ZipFile(path.toFile());
        } catch (ZipException e) {
            if (Files.size(path) == 0) throw new DamagedFileException(path, "it is empty");
            byte[] head = new byte[ZIP_MAGIC.length];
            try (InputStream in = Files.newInputStream(path)) {
                head = Arrays.copyOf(in.readNBytes(head.length), head.length);
            }
            if (Arrays.equals(head, ZIP_MAGIC)) {
                throw new DamagedFileException(path, "it starts as a zip but its directory is unreadable (" + e.getMessage()
                        + "): the file is truncated or overwritten");
            }
            throw new IOException(path + " is not a zip file as torch.save writes (files from PyTorch before 1.6, or saved with "
                    + "_use_new_zipfile_serialization=False, are not read): " + e.getMessage(), e);
        }
    }

    private Map<String, PickleReader.TensorRef> parse(byte[] pickle) throws IOException {
        Object top;
        try {
            top = new PickleReader(pickle).load();
        } catch (IllegalArgumentException | ClassCastException | java.nio.BufferUnderflowException e) {
            throw new IOException(path + " is not a dict of tensors ShakeNet can read: " + e.getMessage(), e);
        }
        if (!(top instanceof Map<?, ?> dict)) throw new IOException(path + " holds a " + top + ", not a dict of named tensors");
        Map<String, PickleReader.TensorRef> out = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : dict.entrySet()) {
            if (!(e.getKey() instanceof String name) || !(e.getValue() instanceof PickleReader.TensorRef ref)) {
                throw new IOException(path + ": entry " + e.getKey() + " is not a named tensor");
            }
            out.put(name, ref);
        }
        return out;
    }

    /** The named tensor references of data.pkl, in file order. */
    Map<String, PickleReader.TensorRef> tensors() {
        return tensors;
    }

    /** The bytes of a storage record, checked. */
    byte[] storage(PickleReader.StorageRef ref) throws IOException {
        return read(storageEntry(ref));
    }

    /** Checks every record of the zip, referenced or not, and that each referenced storage is there with its size. */
    void checkAll() throws IOException {
        for (PickleReader.TensorRef ref : tensors.values()) storageEntry(ref.storage());
        for (ZipEntry entry : Collections.list(zip.entries())) {
            if (entry.isDirectory()) continue;
            CRC32 crc = new CRC32();
            long size = 0;
            try (InputStream in = zip.getInputStream(entry)) {
                byte[] buffer = new byte[1 << 16];
                for (int n; (n = in.read(buffer)) > 0; size += n) crc.update(buffer, 0, n);
            } catch (ZipException | EOFException e) {
                throw new DamagedFileException(path, describe(entry.getName()) + " is unreadable: " + e.getMessage());
            }
            check(entry, size, crc.getValue());
        }
    }

    private ZipEntry storageEntry(PickleReader.StorageRef ref) throws DamagedFileException {
        String name = root + "data/" + ref.key();
        ZipEntry entry = zip.getEntry(name);
        if (entry == null) throw new DamagedFileException(path, describe(name) + " is missing");
        long expected = ref.numel() * ref.dtype().byteSize();
        if (entry.getSize() != expected) {
            throw new DamagedFileException(path, describe(name) + " has " + entry.getSize() + " bytes, " + expected + " expected");
        }
        return entry;
    }

    private byte[] read(ZipEntry entry) throws IOException {
        byte[] bytes;
        try (InputStream in = zip.getInputStream(entry)) {
            bytes = in.readAllBytes();
        } catch (ZipException | EOFException e) {
            throw new DamagedFileException(path, describe(entry.getName()) + " is unreadable: " + e.getMessage());
        }
        CRC32 crc = new CRC32();
        crc.update(bytes);
        check(entry, bytes.length, crc.getValue());
        return bytes;
    }

    private void check(ZipEntry entry, long size, long crc) throws DamagedFileException {
        if (size != entry.getSize()) {
            throw new DamagedFileException(path, describe(entry.getName()) + " holds " + size + " bytes where the zip says " + entry.getSize());
        }
        if (crc != entry.getCrc()) {
            throw new DamagedFileException(path, String.format("%s fails its CRC-32 check (stored 0x%08x, computed 0x%08x)",
                    describe(entry.getName()), entry.getCrc(), crc));
        }
    }

    /** "record archive/data/17 (model.fc.weight)": the record and, for a storage, the tensors that use it. */
    private String describe(String record) {
        List<String> names = record.startsWith(root + "data/") ? users.get(record.substring((root + "data/").length())) : null;
        if (names == null) return "record " + record;
        String shown = String.join(", ", names.subList(0, Math.min(3, names.size())));
        return "record " + record + " (" + shown + (names.size() > 3 ? ", ..." : "") + ")";
    }

    @Override
    public void close() throws IOException {
        zip.close();
    }
}
