package dev.shakenet.train;

import static org.junit.jupiter.api.Assertions.*;

import dev.shakenet.torch.DType;
import dev.shakenet.torch.Device;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The one place a model is built: seeded from the config, and rebuilt from a checkpoint with its weights. */
class TrainingModelTest {
    @TempDir
    Path tmp;

    static Map<String, float[]> weights(TrainingModel m) {
        Map<String, float[]> out = new LinkedHashMap<>();
        m.model().stateDict().forEach((name, t) -> {
            if (t.dtype() == DType.FLOAT32) out.put(name, t.toFloatArray());
        });
        return out;
    }

    @Test
    void theSeedDecidesTheInitialWeights() throws IOException {
        Map<String, float[]> a, b, other;
        try (TrainingModel m = TrainingModel.create(ResolvedRun.of(CheckpointTest.config(CheckpointTest.TINY)))) {
            a = weights(m);
            assertEquals(Device.CPU, m.shakeGenerator().device());
            assertTrue(m.model().isTraining());
        }
        try (TrainingModel m = TrainingModel.create(ResolvedRun.of(CheckpointTest.config(CheckpointTest.TINY)))) {
            b = weights(m);
        }
        try (TrainingModel m = TrainingModel.create(ResolvedRun.of(CheckpointTest.config(CheckpointTest.TINY, "seed=1")))) {
            other = weights(m);
        }
        String conv = "stage1.0.branch1.conv1.weight";
        a.forEach((name, values) -> assertArrayEquals(values, b.get(name), 0f, name));
        assertFalse(java.util.Arrays.equals(a.get(conv), other.get(conv)), "another seed, other weights");
    }

    @Test
    void aCheckpointRebuildsItsTrainedModelInEvalModeWithoutAnOptimizer() throws IOException {
        Path run = Files.createDirectories(tmp.resolve("run"));
        Map<String, float[]> trained;
        try (Trainer t = new Trainer(ResolvedRun.of(CheckpointTest.config(CheckpointTest.TINY, "epochs=1")), CheckpointTest.data(), run)) {
            t.run();
            trained = new LinkedHashMap<>();
            t.model().stateDict().forEach((name, tensor) -> {
                if (tensor.dtype() == DType.FLOAT32) trained.put(name, tensor.toFloatArray());
            });
        }
        try (Checkpoint checkpoint = Checkpoint.read(run); TrainingModel m = TrainingModel.fromCheckpoint(checkpoint, Device.CPU)) {
            Map<String, float[]> loaded = weights(m);
            assertEquals(List.copyOf(trained.keySet()), List.copyOf(loaded.keySet()));
            trained.forEach((name, values) -> assertArrayEquals(values, loaded.get(name), 0f, name));
            assertFalse(m.model().isTraining());
            assertThrows(IllegalStateException.class, m::sgd);
        }
    }

    /** The constructor's signature will change: one call to change with it. */
    @Test
    void theModelIsConstructedInOnePlace() throws IOException {
        Path main = Path.of(System.getProperty("shakenet.root", "")).toAbsolutePath().resolve("src/main/java");
        Pattern call = Pattern.compile("new (dev\\.shakenet\\.nn\\.)?ShakeResNet\\(");
        List<String> places = new java.util.ArrayList<>();
        try (Stream<Path> files = Files.walk(main)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                Matcher m = call.matcher(Files.readString(f));
                while (m.find()) places.add(main.relativize(f).toString());
            }
        }
        assertEquals(List.of("dev/shakenet/train/TrainingModel.java"), places);
    }
}
