package dev.shakenet.train;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.shakenet.data.Cifar;
import dev.shakenet.data.ImageSet;
import dev.shakenet.torch.Cuda;
import dev.shakenet.torch.DType;
import dev.shakenet.torch.Device;
import dev.shakenet.torch.Tensor;
import dev.shakenet.torch.TensorFiles;
import dev.shakenet.torch.TensorScope;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Checkpoints: atomic writes, exact resume, retention, export and init_from round trips. */
class CheckpointTest {
    @TempDir
    Path tmp;

    @AfterEach
    void noCrash() {
        AtomicFiles.beforeRename = () -> {};
        AtomicFiles.afterWriter = path -> {};
    }

    static final String TINY = """
            {"name": "tiny", "model": {"depth": 8, "width": 4}, "epochs": 4, "batch_size": 16, "device": "cpu", "memory_format": "channels_last",
             "schedule": {"type": "cosine"}, "checkpoint": {"keep_last": 2}}""";

    static RunConfig config(String json, String... overrides) throws IOException {
        return ConfigLoader.resolve((ObjectNode) ConfigLoader.JSON.readTree(json), List.of(overrides));
    }

    static Cifar.Splits data() {
        return new Cifar.Splits(TrainerTest.noise(48, 5), TrainerTest.noise(16, 6));
    }

    /** The metrics lines without their timing fields. */
    static List<String> results(Path runDir) throws IOException {
        List<String> out = new ArrayList<>();
        for (String line : Files.readAllLines(runDir.resolve("metrics.jsonl"))) {
            ObjectNode node = (ObjectNode) ConfigLoader.JSON.readTree(line);
            node.remove("images_per_second");
            node.remove("seconds");
            out.add(node.toString());
        }
        return out;
    }

    @Test
    void aResumedRunContinuesExactlyLikeAnUninterruptedOne() throws IOException {
        RunConfig c = config(TINY);
        Path straight = Files.createDirectories(tmp.resolve("straight")), stopped = Files.createDirectories(tmp.resolve("stopped"));
        try (Trainer t = new Trainer(ResolvedRun.of(c), data(), straight)) {
            t.run();
        }
        try (Trainer t = new Trainer(ResolvedRun.of(c), data(), stopped)) {
            t.runUntil(2); // as if killed during epoch 3
        }
        assertEquals(2, results(stopped).size());
        try (Checkpoint checkpoint = Checkpoint.read(stopped); Trainer t = new Trainer(ResolvedRun.of(c), data(), stopped, checkpoint)) {
            assertEquals(2, checkpoint.meta().epoch());
            t.run();
        }
        assertEquals(results(straight), results(stopped), "epochs 3 and 4 after a resume equal the uninterrupted run's");
        assertEquals(4, results(stopped).size());
    }

    @Test
    void sameSeedSameMetricsTwice() throws IOException {
        RunConfig c = config(TINY, "epochs=2");
        Path a = Files.createDirectories(tmp.resolve("a")), b = Files.createDirectories(tmp.resolve("b"));
        try (Trainer t = new Trainer(ResolvedRun.of(c), data(), a)) {
            t.run();
        }
        try (Trainer t = new Trainer(ResolvedRun.of(c), data(), b)) {
            t.run();
        }
        assertEquals(results(a), results(b));
    }

    @Test
    void metricsLinesPastTheCheckpointAreRedoneOnResume() throws IOException {
        RunConfig c = config(TINY, "checkpoint.interval=2", "checkpoint.keep_best=false", "eval_interval=10");
        Path run = Files.createDirectories(tmp.resolve("run"));
        try (Trainer t = new Trainer(ResolvedRun.of(c), data(), run)) {
            t.runUntil(3); // checkpoint after epoch 2 only; epoch 3's line is past it
        }
        assertEquals(3, results(run).size());
        try (Checkpoint checkpoint = Checkpoint.read(run); Trainer t = new Trainer(ResolvedRun.of(c), data(), run, checkpoint)) {
            assertEquals(2, checkpoint.meta().epoch());
            assertEquals(2, results(run).size(), "epoch 3's line is dropped; the epoch runs again");
            t.run();
        }
        assertEquals(List.of(1, 2, 3, 4), Files.readAllLines(run.resolve("metrics.jsonl")).stream()
                .map(l -> readEpoch(l)).toList());
    }

    private static int readEpoch(String line) {
        try {
            return ConfigLoader.JSON.readTree(line).get("epoch").asInt();
        } catch (IOException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    void keepsTheNewestAndTheBest() throws IOException {
        Path run = Files.createDirectories(tmp.resolve("run"));
        try (Trainer t = new Trainer(ResolvedRun.of(config(TINY)), data(), run)) {
            t.run();
        }
        List<String> files = new ArrayList<>();
        try (var list = Files.list(run.resolve(Checkpoints.DIR))) {
            list.forEach(f -> files.add(f.getFileName().toString()));
        }
        assertTrue(files.containsAll(List.of("epoch-0003.pt", "epoch-0004.pt", "best.pt")), files.toString());
        assertFalse(files.contains("epoch-0001.pt") || files.contains("epoch-0002.pt"), "older epochs pruned: " + files);
        try (Checkpoint best = Checkpoint.read(run.resolve(Checkpoints.DIR).resolve(Checkpoints.BEST))) {
            assertEquals(best.meta().bestEpoch(), best.meta().epoch());
            double bestAcc = 0;
            for (String line : Files.readAllLines(run.resolve("metrics.jsonl"))) bestAcc = Math.max(bestAcc, ConfigLoader.JSON.readTree(line).get("test_accuracy").asDouble());
            assertEquals(bestAcc, best.meta().bestTestAccuracy());
        }
    }

    @Test
    void aCrashBetweenWriteAndRenameLeavesThePreviousCheckpointLoadable() throws IOException {
        RunConfig c = config(TINY);
        Path run = Files.createDirectories(tmp.resolve("run"));
        try (Trainer t = new Trainer(ResolvedRun.of(c), data(), run)) {
            t.runUntil(1);
            AtomicFiles.beforeRename = () -> {
                throw new IllegalStateException("simulated crash before rename");
            };
            assertThrows(IllegalStateException.class, () -> t.runUntil(2));
        }
        AtomicFiles.beforeRename = () -> {};
        assertEquals(Checkpoints.fileFor(run, 1), Checkpoints.latest(run).orElseThrow(), "no torn epoch-0002.pt");
        try (Checkpoint checkpoint = Checkpoint.read(run)) {
            assertEquals(1, checkpoint.meta().epoch());
        }
        try (var list = Files.list(run.resolve(Checkpoints.DIR))) {
            assertTrue(list.anyMatch(f -> f.getFileName().toString().endsWith(".tmp")), "the crash left only a temporary file");
        }
        new Checkpoints(run, 2, true); // the next start removes it
        try (var list = Files.list(run.resolve(Checkpoints.DIR))) {
            assertTrue(list.noneMatch(f -> f.getFileName().toString().endsWith(".tmp")));
        }
    }

    @Test
    void aTornTargetNeverReplacesAGoodFile() throws IOException {
        Path target = tmp.resolve("config.json");
        AtomicFiles.writeString(target, "old");
        AtomicFiles.beforeRename = () -> {
            throw new IllegalStateException("crash");
        };
        assertThrows(IllegalStateException.class, () -> AtomicFiles.writeString(target, "new"));
        assertEquals("old", Files.readString(target));
    }

    @Test
    void aCheckpointThatFailsItsCheckLeavesThePreviousFileAndNoTemporaryFile() throws IOException {
        Path run = Files.createDirectories(tmp.resolve("run"));
        try (Trainer t = new Trainer(ResolvedRun.of(config(TINY, "epochs=1")), data(), run)) {
            t.run();
        }
        Path file = Checkpoints.fileFor(run, 1);
        byte[] before = Files.readAllBytes(file);
        AtomicFiles.afterWriter = path -> { // as a disk that returns other bytes than were written
            byte[] bytes = Files.readAllBytes(path);
            for (int i = bytes.length / 2 - 32; i < bytes.length / 2 + 32; i++) bytes[i] ^= (byte) 0xff;
            Files.write(path, bytes);
        };
        try (Checkpoint checkpoint = Checkpoint.read(run)) {
            FileWriteException e = assertThrows(FileWriteException.class, () -> checkpoint.write(file));
            assertInstanceOf(dev.shakenet.torch.DamagedFileException.class, e.getCause());
            assertTrue(e.getMessage().startsWith("cannot write " + file + ": ") && e.getMessage().contains("fails its CRC-32 check")
                    && e.getMessage().endsWith("; the previous file is intact"), e.getMessage());
        }
        assertArrayEquals(before, Files.readAllBytes(file), "the previous checkpoint byte for byte");
        assertEquals(List.of("epoch-0001.pt"), names(run.resolve(Checkpoints.DIR)).stream().filter(n -> !n.equals(Checkpoints.BEST)).toList());
    }

    @Test
    void aFullDiskDuringTrainingSaysWhatToDoAndTheRunResumes() throws Exception {
        dev.shakenet.data.CifarFiles.writeFolder(tmp.resolve("data"), 6);
        Path config = Files.writeString(tmp.resolve("tiny.json"), """
                {"name": "tiny", "model": {"depth": 8, "width": 4}, "batch_size": 10, "device": "cpu", "epochs": 2}""");
        Path run = tmp.resolve("run");
        AtomicFiles.afterWriter = path -> {
            if (path.getFileName().toString().contains("epoch-0002")) {
                Files.write(path, new byte[Math.toIntExact(Files.size(path) / 2)]);
                throw new IOException("No space left on device");
            }
        };
        java.io.ByteArrayOutputStream err = new java.io.ByteArrayOutputStream();
        java.io.PrintStream saved = System.err;
        System.setErr(new java.io.PrintStream(err, true));
        int code;
        try {
            code = dev.shakenet.cli.MainAccess.run("train", "--config", config.toString(), "--set", "data.path=" + tmp.resolve("data"),
                    "--set", "output=" + run);
        } finally {
            System.setErr(saved);
        }
        String message = err.toString().strip();
        assertEquals(1, code, message);
        assertTrue(message.startsWith("shakenet: cannot write " + Checkpoints.fileFor(run, 2) + ": No space left on device ("), message);
        assertTrue(message.matches("(?s).*\\(\\d+\\.\\d MB free on its file system, about \\d+\\.\\d MB needed\\).*"), message);
        assertTrue(message.endsWith("; the previous checkpoint epoch-0001.pt is intact; free space, then continue with: shakenet train --resume " + run),
                message);
        assertFalse(message.contains("java.io") || message.contains("\tat "), "no class names, no stack trace: " + message);
        assertTrue(names(run.resolve(Checkpoints.DIR)).stream().noneMatch(n -> n.endsWith(".tmp")), "no temporary file");
        AtomicFiles.afterWriter = path -> {};
        assertEquals(0, dev.shakenet.cli.MainAccess.run("train", "--resume", run.toString()));
        assertEquals(2, results(run).size());
    }

    private static List<String> names(Path dir) throws IOException {
        try (var list = Files.list(dir)) {
            return list.map(f -> f.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void exportedWeightsRoundTripBitExactlyAndInitFromLoadsThem() throws IOException {
        Path run = Files.createDirectories(tmp.resolve("run"));
        RunConfig c = config(TINY, "epochs=1");
        Map<String, float[]> trained = new java.util.LinkedHashMap<>();
        try (Trainer t = new Trainer(ResolvedRun.of(c), data(), run)) {
            t.run();
            t.model().stateDict().forEach((name, tensor) -> {
                if (tensor.dtype() == dev.shakenet.torch.DType.FLOAT32) trained.put(name, tensor.toFloatArray());
            });
        }
        Path weights = tmp.resolve("weights.pt");
        assertEquals(0, dev.shakenet.cli.MainAccess.run("export", "--checkpoint", run.toString(), "--out", weights.toString()));
        Map<String, Tensor> loaded = TensorFiles.load(weights);
        try {
            assertEquals(new ArrayList<>(trained.keySet()), loaded.keySet().stream().filter(k -> !k.endsWith("num_batches_tracked")).toList());
            trained.forEach((name, values) -> assertArrayEquals(values, loaded.get(name).toFloatArray(), 0f, name));
            assertEquals(3, (int) loaded.get("stem.bn.num_batches_tracked").to(dev.shakenet.torch.DType.FLOAT64).item(), "48 images / batch 16");
        } finally {
            loaded.values().forEach(Tensor::close);
        }
        Path other = Files.createDirectories(tmp.resolve("other"));
        try (Trainer t = new Trainer(ResolvedRun.of(config(TINY, "epochs=1", "seed=99", "model.init_from=" + weights)), data(), other)) {
            t.model().stateDict().forEach((name, tensor) -> {
                if (trained.containsKey(name)) assertArrayEquals(trained.get(name), tensor.toFloatArray(), 0f, "init_from " + name);
            });
        }
    }

    @Test
    void initFromAMismatchedFileNamesTheProblem() throws IOException {
        Path run = Files.createDirectories(tmp.resolve("run"));
        try (Trainer t = new Trainer(ResolvedRun.of(config(TINY, "epochs=1")), data(), run)) {
            t.run();
        }
        Path weights = tmp.resolve("w.pt");
        assertEquals(0, dev.shakenet.cli.MainAccess.run("export", "--checkpoint", run.toString(), "--out", weights.toString()));
        CheckpointException e = assertThrows(CheckpointException.class,
                () -> new Trainer(ResolvedRun.of(config(TINY, "model.width=6", "model.init_from=" + weights)), data(), Files.createDirectories(tmp.resolve("x"))));
        assertTrue(e.getMessage().contains("does not fit Shake-Shake-8 2x6d") && e.getMessage().contains("has shape"), e.getMessage());
    }

    @Test
    void aResumeThatChangesTheShapeIsRefusedOtherChangesAreAllowed() throws IOException {
        RunConfig saved = config(TINY);
        ConfigException e = assertThrows(ConfigException.class,
                () -> TrainingRun.checkResumable(saved, config(TINY, "model.width=8")));
        assertTrue(e.getMessage().contains("depth 8, width 4 in the checkpoint, depth 8, width 8 now"), e.getMessage());
        TrainingRun.checkResumable(saved, config(TINY, "epochs=10", "optimizer.lr=0.05"));
        assertEquals(List.of("optimizer.lr: 0.1 -> 0.05", "epochs: 4 -> 10"), ConfigLoader.differences(saved, config(TINY, "epochs=10", "optimizer.lr=0.05")));
    }

    /** Any tensor's values as float64 on the CPU, for comparing entries of every dtype. */
    private static double[] values(Tensor t) {
        try (TensorScope scope = TensorScope.open()) {
            return t.to(Device.CPU).to(DType.FLOAT64).toDoubleArray();
        }
    }

    /**
     * A trained run's checkpoint restored into a model built with another seed, then captured
     * from it: every entry comes back as saved (on CUDA in fp16, the loss scale too), and closing
     * the capture leaves the model's own tensors open.
     */
    @ParameterizedTest
    @CsvSource({"cpu, fp32", "cuda, fp16"})
    void restoreThenCaptureGivesBackEveryEntry(String device, String precision) throws IOException {
        if (device.equals("cuda")) Cuda.assumeAvailable();
        Path run = Files.createDirectories(tmp.resolve("run"));
        try (Trainer t = new Trainer(ResolvedRun.of(config(TINY, "epochs=1", "device=" + device, "precision=" + precision)), data(), run)) {
            t.run();
        }
        RunConfig other = config(TINY, "epochs=1", "device=" + device, "precision=" + precision, "seed=7");
        try (Checkpoint saved = Checkpoint.read(run); TrainingModel fresh = TrainingModel.create(ResolvedRun.of(other))) {
            saved.restore(fresh);
            try (Checkpoint again = Checkpoint.capture(fresh, 1, 3, null, null)) {
                assertEquals(List.copyOf(saved.tensors().keySet()), List.copyOf(again.tensors().keySet()));
                if (precision.equals("fp16")) assertTrue(again.tensors().containsKey(Checkpoint.LOSS_SCALE));
                saved.tensors().forEach((name, tensor) -> assertArrayEquals(values(tensor), values(again.tensors().get(name)), 0, name));
            }
            Tensor weight = fresh.model().namedParameters().get("fc.weight");
            assertFalse(weight.isClosed());
            assertEquals(values(saved.tensor(Checkpoint.MODEL + "fc.weight")).length, values(weight).length);
        }
    }

    @Test
    void aCheckpointOpensAsATensorDictWithItsMeta() throws IOException {
        Path run = Files.createDirectories(tmp.resolve("run"));
        try (Trainer t = new Trainer(ResolvedRun.of(config(TINY, "epochs=1")), data(), run)) {
            t.run();
        }
        Map<String, Tensor> raw = TensorFiles.load(Checkpoints.latest(run).orElseThrow());
        try {
            assertTrue(raw.containsKey("model.stage1.0.branch1.conv1.weight"));
            assertTrue(raw.containsKey("optimizer.momentum.fc.weight"));
            assertTrue(raw.containsKey(Checkpoint.RNG_SHAKE) && raw.containsKey(Checkpoint.RNG_TORCH_CPU));
            JsonNode meta = ConfigLoader.JSON.readTree(raw.get(Checkpoint.META).toByteArray());
            assertEquals(1, meta.get("epoch").asInt());
            assertEquals(3, meta.get("step").asInt());
            assertEquals(4, meta.get("config").get("model").get("width").asInt());
        } finally {
            raw.values().forEach(Tensor::close);
        }
    }
}
