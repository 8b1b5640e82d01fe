package dev.shakenet.torch;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/**
 * torch.save's format, read and written in Java. The reference file pytorch_state_dict.pt was
 * written by PyTorch itself (Debian's python3-torch 1.13), with its values in pytorch_state_dict.json:
 * <pre>
 * torch.manual_seed(0)
 * m = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)).to(memory_format=torch.channels_last)
 * m(torch.randn(2, 3, 5, 5)); sd = m.state_dict()
 * sd['extra.bf16'] = torch.tensor([1.5, -2.0], dtype=torch.bfloat16)
 * sd['extra.transposed'] = torch.arange(6.).reshape(2, 3).t()
 * sd['extra.int32'] = torch.tensor([7, -9], dtype=torch.int32)
 * torch.save(sd, 'pytorch_state_dict.pt')
 * </pre>
 */
class TensorFilesTest {
    @TempDir
    Path tmp;

    Path resource(String name) throws IOException {
        Path out = tmp.resolve(name);
        try (InputStream in = getClass().getResourceAsStream(name)) {
            Files.copy(in, out);
        }
        return out;
    }

    @Test
    void readsAStateDictWrittenByPytorch() throws IOException {
        JsonNode expected = new ObjectMapper().readTree(resource("pytorch_state_dict.json").toFile()).get("tensors");
        Map<String, Tensor> state = TensorFiles.load(resource("pytorch_state_dict.pt"));
        try (TensorScope scope = TensorScope.open()) {
            List<String> names = new ArrayList<>();
            expected.fieldNames().forEachRemaining(names::add);
            assertEquals(names, new ArrayList<>(state.keySet()), "names in file order");
            for (String name : names) {
                JsonNode e = expected.get(name);
                Tensor t = state.get(name);
                long[] shape = new long[e.get("shape").size()];
                for (int i = 0; i < shape.length; i++) shape[i] = e.get("shape").get(i).asLong();
                assertArrayEquals(shape, t.shape(), name);
                assertEquals(e.get("dtype").asText(), "torch." + switch (t.dtype()) {
                    case FLOAT32 -> "float32";
                    case BFLOAT16 -> "bfloat16";
                    case INT64 -> "int64";
                    case INT32 -> "int32";
                    default -> t.dtype().toString();
                }, name);
                double[] values = t.to(DType.FLOAT64).toDoubleArray();
                for (int i = 0; i < values.length; i++) assertEquals(e.get("values").get(i).asDouble(), values[i], 0.0, name + "[" + i + "]");
            }
        } finally {
            state.values().forEach(Tensor::close);
        }
    }

    @Test
    void roundTripIsBitExactForEveryDtypeAndShape() throws IOException {
        Path file = tmp.resolve("t.pt");
        try (TensorScope scope = TensorScope.open()) {
            Map<String, Tensor> in = new LinkedHashMap<>();
            in.put("f32", Tensor.randn(0, 1, DType.FLOAT32, Device.CPU, null, 2, 3, 4));
            in.put("f64", Tensor.fromDoubles(new double[] {Math.PI, -0.0, Double.MIN_VALUE}, 3));
            in.put("bf16", Tensor.randn(0, 1, DType.FLOAT32, Device.CPU, null, 5).to(DType.BFLOAT16));
            in.put("u8", Tensor.fromBytes(new byte[] {0, 127, (byte) 255}, 3));
            in.put("i64.scalar", Tensor.fromLongs(new long[] {Long.MIN_VALUE}));
            in.put("channels_last", Tensor.randn(0, 1, DType.FLOAT32, Device.CPU, null, 2, 3, 4, 5).to(MemoryFormat.CHANNELS_LAST));
            in.put("naïve ünïcode", Tensor.zeros(DType.FLOAT32, Device.CPU, 0));
            TensorFiles.save(file, in);
            Map<String, Tensor> out = TensorFiles.load(file);
            assertEquals(new ArrayList<>(in.keySet()), new ArrayList<>(out.keySet()));
            for (String name : in.keySet()) {
                Tensor a = in.get(name), b = out.get(name);
                assertArrayEquals(a.shape(), b.shape(), name);
                assertEquals(a.dtype(), b.dtype(), name);
                assertArrayEquals(bytes(a), bytes(b), name + " bit for bit");
                b.close();
            }
        }
        try (ZipFile zip = new ZipFile(file.toFile())) {
            for (String record : List.of("archive/data.pkl", "archive/version", "archive/byteorder", "archive/data/0")) {
                assertNotNull(zip.getEntry(record), record);
            }
        }
    }

    private static byte[] bytes(Tensor t) {
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            var segment = arena.allocate(Math.max(1, t.numel() * t.dtype().byteSize()));
            var slice = segment.asSlice(0, t.numel() * t.dtype().byteSize());
            t.copyTo(slice);
            return slice.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
        }
    }

    /** A small dict whose second tensor, on record archive/data/1, takes nearly all of the file. */
    private Path savedFile() throws IOException {
        Path file = tmp.resolve("weights.pt");
        try (TensorScope scope = TensorScope.open()) {
            Map<String, Tensor> in = new LinkedHashMap<>();
            in.put("model.fc.bias", Tensor.randn(0, 1, DType.FLOAT32, Device.CPU, null, 4));
            in.put(BIG, Tensor.randn(0, 1, DType.FLOAT32, Device.CPU, null, 64, 16, 3, 3));
            in.put("model.fc.weight", Tensor.randn(0, 1, DType.FLOAT32, Device.CPU, null, 4, 4));
            TensorFiles.save(file, in);
            assertTrue(Files.size(file) <= TensorFiles.sizeOf(in), "sizeOf is an upper bound");
        }
        return file;
    }

    private static final String BIG = "model.stage2.0.branch1.conv1.weight";

    @Test
    void anIntactFilePassesVerify() throws IOException {
        TensorFiles.verify(savedFile());
        TensorFiles.verify(resource("pytorch_state_dict.pt"));
    }

    @Test
    void flippedBytesInAStorageAreFoundByLoadAndVerify() throws IOException {
        Path file = savedFile();
        byte[] bytes = Files.readAllBytes(file);
        for (int i = bytes.length / 2 - 32; i < bytes.length / 2 + 32; i++) bytes[i] ^= (byte) 0xff;
        Files.write(file, bytes);
        for (Executable read : List.<Executable>of(() -> TensorFiles.load(file), () -> TensorFiles.verify(file))) {
            DamagedFileException e = assertThrows(DamagedFileException.class, read);
            assertTrue(e.getMessage().startsWith(file + " is damaged: record archive/data/1 (" + BIG + ") fails its CRC-32 check (stored "),
                    e.getMessage());
            assertTrue(e.getMessage().matches(".*stored 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}\\)"), e.getMessage());
        }
    }

    @Test
    void aTruncatedFileIsCalledDamaged() throws IOException {
        Path file = savedFile();
        byte[] bytes = Files.readAllBytes(file);
        Files.write(file, java.util.Arrays.copyOf(bytes, bytes.length / 2));
        for (Executable read : List.<Executable>of(() -> TensorFiles.load(file), () -> TensorFiles.verify(file))) {
            DamagedFileException e = assertThrows(DamagedFileException.class, read);
            assertTrue(e.getMessage().startsWith(file + " is damaged: ") && e.getMessage().contains("truncated"), e.getMessage());
        }
    }

    @Test
    void aMissingStorageRecordIsNamed() throws IOException {
        Path file = savedFile(), without = tmp.resolve("without.pt");
        try (ZipFile in = new ZipFile(file.toFile()); ZipOutputStream out = new ZipOutputStream(Files.newOutputStream(without))) {
            for (ZipEntry entry : java.util.Collections.list(in.entries())) {
                if (entry.getName().equals("archive/data/1")) continue;
                out.putNextEntry(new ZipEntry(entry));
                out.write(in.getInputStream(entry).readAllBytes());
                out.closeEntry();
            }
        }
        for (Executable read : List.<Executable>of(() -> TensorFiles.load(without), () -> TensorFiles.verify(without))) {
            DamagedFileException e = assertThrows(DamagedFileException.class, read);
            assertEquals(without + " is damaged: record archive/data/1 (" + BIG + ") is missing", e.getMessage());
        }
    }

    @Test
    void filesThatAreNotStateDictsAreRefusedAndNothingRuns() throws IOException {
        Path text = Files.writeString(tmp.resolve("x.pt"), "not a zip");
        IOException notZip = assertThrows(IOException.class, () -> TensorFiles.load(text));
        assertTrue(notZip.getMessage().contains("not a zip file as torch.save writes"), notZip.getMessage());
        // A pickle that would call os.system in Python: refused by name.
        Path evil = tmp.resolve("evil.pt");
        try (ZipOutputStream zip = new ZipOutputStream(Files.newOutputStream(evil))) {
            zip.putNextEntry(new ZipEntry("archive/data.pkl"));
            zip.write(new byte[] {(byte) 0x80, 2, 'c', 'o', 's', '\n', 's', 'y', 's', 't', 'e', 'm', '\n', 'X', 4, 0, 0, 0, 't', 'r', 'u', 'e',
                    (byte) 0x85, 'R', '.'});
            zip.closeEntry();
        }
        IOException refused = assertThrows(IOException.class, () -> TensorFiles.load(evil));
        assertTrue(refused.getMessage().contains("os.system, which is not part of a state dict"), refused.getMessage());
        Path empty = tmp.resolve("empty.pt");
        try (ZipOutputStream zip = new ZipOutputStream(Files.newOutputStream(empty))) {
            zip.putNextEntry(new ZipEntry("archive/version"));
            zip.write('3');
            zip.closeEntry();
        }
        assertTrue(assertThrows(IOException.class, () -> TensorFiles.load(empty)).getMessage().contains("has no data.pkl"));
    }
}
