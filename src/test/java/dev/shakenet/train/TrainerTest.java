package dev.shakenet.train;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.shakenet.data.Cifar;
import dev.shakenet.data.Cifar10;
import dev.shakenet.data.ImageSet;
import dev.shakenet.data.RealCifar10Test;
import dev.shakenet.torch.Cuda;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The training loop end to end: it can fit, it learns real data, and it writes its metrics. */
class TrainerTest {
    @TempDir
    Path tmp;

    /** n random images with random labels: only memorization can fit them. */
    static ImageSet noise(int n, long seed) {
        Random rng = new Random(seed);
        byte[] px = new byte[n * ImageSet.IMAGE_BYTES], labels = new byte[n];
        rng.nextBytes(px);
        for (int i = 0; i < n; i++) labels[i] = (byte) rng.nextInt(10);
        return new ImageSet(px, labels, n);
    }

    static RunConfig config(String json, String... overrides) throws IOException {
        return ConfigLoader.resolve((ObjectNode) ConfigLoader.JSON.readTree(json), List.of(overrides));
    }

    /** On CUDA also in bf16 and in fp16, whose loss scaling runs only there; skipped without a GPU. */
    @ParameterizedTest
    @CsvSource({"cpu, fp32", "cuda, fp32", "cuda, bf16", "cuda, fp16"})
    void aTinyShakeShakeNetMemorizes64Images(String device, String precision) throws IOException {
        if (device.equals("cuda")) Cuda.assumeAvailable();
        ImageSet images = noise(64, 1);
        RunConfig c = config("""
                {"model": {"depth": 8, "width": 16}, "epochs": 40, "batch_size": 16,
                 "optimizer": {"lr": 0.05}, "schedule": {"type": "constant"}, "data": {"augment": false}, "eval_interval": 40}""",
                "device=" + device, "precision=" + precision);
        List<EpochMetrics> metrics;
        try (Trainer trainer = new Trainer(ResolvedRun.of(c), new Cifar.Splits(images, images), tmp)) {
            metrics = trainer.run();
        }
        EpochMetrics last = metrics.getLast();
        assertEquals(1.0, last.trainAccuracy(), "train accuracy of the last epoch: " + last);
        assertEquals(1.0, last.testAccuracy(), "the same 64 images in eval mode: " + last);
        assertTrue(last.trainLoss() < metrics.getFirst().trainLoss() / 5, "loss fell: " + metrics.getFirst().trainLoss() + " -> " + last.trainLoss());
    }

    @Test
    void metricsHaveOneWellFormedLinePerEpoch() throws IOException {
        ImageSet images = noise(40, 2);
        RunConfig c = config("""
                {"model": {"depth": 8, "width": 4}, "epochs": 3, "batch_size": 16, "device": "cpu", "eval_interval": 2}""");
        try (Trainer trainer = new Trainer(ResolvedRun.of(c), new Cifar.Splits(images, noise(10, 3)), tmp)) {
            trainer.run();
        }
        List<String> lines = Files.readAllLines(tmp.resolve("metrics.jsonl"));
        assertEquals(3, lines.size());
        for (int i = 0; i < 3; i++) {
            JsonNode line = ConfigLoader.JSON.readTree(lines.get(i));
            assertEquals(i + 1, line.get("epoch").asInt());
            for (String key : List.of("lr", "train_loss", "train_accuracy", "images_per_second", "seconds")) {
                assertTrue(line.get(key).isNumber(), key + " in " + line);
            }
            boolean evaluated = i == 1 || i == 2; // every 2 epochs, and always the last
            assertEquals(evaluated, line.get("test_accuracy").isNumber(), "test metrics present iff evaluated: " + line);
            assertEquals(evaluated, line.get("test_loss").isNumber(), line.toString());
            double acc = line.get("train_accuracy").asDouble();
            assertTrue(acc >= 0 && acc <= 1, line.toString());
        }
        JsonNode first = ConfigLoader.JSON.readTree(lines.get(0)), last = ConfigLoader.JSON.readTree(lines.get(2));
        assertTrue(last.get("lr").asDouble() < first.get("lr").asDouble(), "the cosine schedule decays");
    }

    @Test
    void thePaperAndSeedConfigsReadTheSharedCopyAsTheyAre() throws IOException {
        RealCifar10Test.assumeSharedData();
        for (String name : List.of("paper-26-2x32d", "seed-qiita")) {
            RunConfig c = ConfigLoader.load(Path.of(System.getProperty("shakenet.root", ".")).resolve("config/" + name + ".json"),
                    List.of("data.path=" + RealCifar10Test.SHARED.getParent()));
            assertTrue(c.data().download(), name + " downloads when no copy is there");
            Cifar.Splits s = DataSource.load(c.data()); // the shared copy is re-packed: its MD5 is not the official one
            assertEquals(50_000, s.train().count(), name);
        }
    }

    @Test
    void aShortRealDataRunBeats35Percent() throws IOException {
        RealCifar10Test.assumeSharedData();
        Cifar.Splits all = Cifar10.load(RealCifar10Test.SHARED);
        Cifar.Splits data = new Cifar.Splits(all.train().first(10_000), all.test().first(2_000));
        RunConfig c = config("""
                {"model": {"depth": 8, "width": 16}, "epochs": 2, "batch_size": 64, "device": "cpu", "memory_format": "channels_last"}""");
        List<EpochMetrics> metrics;
        try (Trainer trainer = new Trainer(ResolvedRun.of(c), data, tmp)) {
            metrics = trainer.run();
        }
        double accuracy = metrics.getLast().testAccuracy();
        assertTrue(accuracy > 0.35, "test accuracy after 2 epochs of 10,000 images: " + accuracy);
    }
}
