package dev.shakenet.cli;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import dev.shakenet.data.RealCifar10Test;
import dev.shakenet.train.ConfigLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Each new family's cpu-quick config learns on real CIFAR-10 (the shared copy; skipped where it
 * is absent): 2 epochs over 2,560 training images, tested on 1,000, well above chance (10%).
 */
class FamilyLearningTest {
    @TempDir
    Path tmp;

    /** Measured on an AMD EPYC (seed 0): ResNeXt 25.4%, PyramidNet 30.8%. */
    @ParameterizedTest
    @CsvSource({"cpu-quick-resnext.json, 0.18", "cpu-quick-pyramidnet.json, 0.22"})
    void theQuickConfigLearnsInTwoShortEpochs(String config, double atLeast) throws Exception {
        RealCifar10Test.assumeSharedData();
        Path root = Path.of(System.getProperty("shakenet.root", "."));
        Path run = tmp.resolve("run");
        assertEquals(0, Main.run(List.of("train", "--config", root.resolve("config").resolve(config).toString(),
                "--set", "data.path=" + RealCifar10Test.SHARED.getParent(), "--set", "data.train_limit=2560", "--set", "data.test_limit=1000",
                "--set", "device=cpu", "--set", "output=" + run)));
        List<String> lines = Files.readAllLines(run.resolve("metrics.jsonl"));
        assertEquals(2, lines.size());
        JsonNode last = ConfigLoader.JSON.readTree(lines.getLast());
        assertTrue(last.get("test_accuracy").asDouble() >= atLeast, config + ": test accuracy " + last.get("test_accuracy") + " after 2 epochs");
    }
}
