package dev.shakenet.torch;

import java.io.IOException;
import java.io.OutputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * Named tensors to and from files in torch.save's format (a zip holding data.pkl, one record per
 * storage under data/, byteorder and version). What {@link #save} writes, Python's
 * {@code torch.load(path)} returns as an OrderedDict of tensors, also with the weights_only
 * default of PyTorch 2.6+; {@link #load} reads what {@code torch.save(model.state_dict(), path)}
 * writes.
 */
public final class TensorFiles {
    private static final String ROOT = "archive/";

    private TensorFiles() {}

    /** Writes {name: tensor} in map order as contiguous CPU tensors. The caller makes it atomic (write elsewhere, then rename). */
    public static void save(Path path, Map<String, Tensor> tensors) throws IOException {
        List<PickleWriter.Entry> entries = new ArrayList<>();
        try (OutputStream file = Files.newOutputStream(path); ZipOutputStream zip = new ZipOutputStream(file)) {
            int key = 0;
            List<byte[]> storages = new ArrayList<>();
            for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
                Tensor t = e.getValue();
                long[] shape = t.shape();
                long numel = t.numel();
                entries.add(new PickleWriter.Entry(e.getKey(), t.dtype(), shape, String.valueOf(key++), numel));
                storages.add(hostBytes(t, numel));
            }
            stored(zip, ROOT + "data.pkl", PickleWriter.stateDict(entries));
            stored(zip, ROOT + "byteorder", "little".getBytes(StandardCharsets.US_ASCII));
            for (int i = 0; i < storages.size(); i++) stored(zip, ROOT + "data/" + i, storages.get(i));
            stored(zip, ROOT + "version", "3\n".getBytes(StandardCharsets.US_ASCII));
        }
    }

    private static byte[] hostBytes(Tensor t, long numel) {
        long bytes = numel * t.dtype().byteSize();
        if (bytes > Integer.MAX_VALUE - 16) throw new IllegalArgumentException("tensor of " + bytes + " bytes is too large for one record");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment data = arena.allocate(Math.max(bytes, 1));
            t.copyTo(data.asSlice(0, bytes));
            return data.asSlice(0, bytes).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
        }
    }

    /** An uncompressed entry, as torch.save writes them. */
    private static void stored(ZipOutputStream zip, String name, byte[] data) throws IOException {
        ZipEntry entry = new ZipEntry(name);
        entry.setMethod(ZipEntry.STORED);
        entry.setSize(data.length);
        entry.setCompressedSize(data.length);
        CRC32 crc = new CRC32();
        crc.update(data);
        entry.setCrc(crc.getValue());
        zip.putNextEntry(entry);
        zip.write(data);
        zip.closeEntry();
    }

    /**
     * Reads a dict of named tensors (CPU) in file order; the caller owns the tensors (or its scope
     * does). A record whose CRC-32 or size does not match the zip's, a missing record or a
     * truncated file throws {@link DamagedFileException}.
     */
    public static Map<String, Tensor> load(Path path) throws IOException {
        try (TorchArchive archive = TorchArchive.open(path)) {
            Map<String, Tensor> out = new LinkedHashMap<>();
            Map<String, Tensor> storages = new HashMap<>();
            try (TensorScope scope = TensorScope.open()) {
                for (Map.Entry<String, PickleReader.TensorRef> e : archive.tensors().entrySet()) {
                    PickleReader.TensorRef ref = e.getValue();
                    Tensor storage = storages.get(ref.storage().key());
                    if (storage == null) {
                        storage = storageTensor(archive.storage(ref.storage()), ref.storage());
                        storages.put(ref.storage().key(), storage);
                    }
                    out.put(e.getKey(), scope.keep(view(storage, ref)));
                }
            }
            return out;
        }
    }

    /**
     * Checks a file as {@link #load} would read it, without creating tensors: data.pkl parses,
     * every storage it refers to is there with its size, and every record of the zip matches its
     * CRC-32. For a file just written, before it replaces the previous one.
     */
    public static void verify(Path path) throws IOException {
        try (TorchArchive archive = TorchArchive.open(path)) {
            archive.checkAll();
        }
    }

    /** About the bytes {@link #save} writes for {@code tensors}: their data plus the zip's and the pickle's share. */
    public static long sizeOf(Map<String, Tensor> tensors) {
        long bytes = 4096; // byteorder, version, the pickle's header, the zip's end record
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            bytes += e.getValue().numel() * e.getValue().dtype().byteSize() + 256 + 2L * e.getKey().length();
        }
        return bytes;
    }

    private static Tensor storageTensor(byte[] bytes, PickleReader.StorageRef ref) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment segment = arena.allocate(Math.max(bytes.length, 1));
            MemorySegment.copy(MemorySegment.ofArray(bytes), 0, segment, 0, bytes.length);
            return Tensor.fromSegment(segment.asSlice(0, bytes.length), ref.dtype(), ref.numel());
        }
    }

    /** The tensor a TensorRef describes: a plain reshape when it is the whole storage in row-major order, else a strided copy. */
    private static Tensor view(Tensor storage, PickleReader.TensorRef ref) {
        long numel = 1;
        for (long s : ref.size()) numel *= s;
        if (ref.offset() == 0 && numel == ref.storage().numel() && Arrays.equals(ref.stride(), PickleWriter.contiguousStrides(ref.size()))) {
            return storage.reshape(ref.size());
        }
        return storage.asStrided(ref.size(), ref.stride(), ref.offset()).copy();
    }
}
