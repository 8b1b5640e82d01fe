package dev.shakenet.cli;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import dev.shakenet.data.Augmentation;
import dev.shakenet.data.Cifar;
import dev.shakenet.data.CifarFiles;
import dev.shakenet.data.CifarFormat;
import dev.shakenet.data.ImageSet;
import dev.shakenet.torch.Tensor;
import dev.shakenet.torch.TensorFiles;
import dev.shakenet.train.ConfigLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A run on CIFAR-100 files: its normalization, a 100-class head, eval's 100 class names, coarse labels, and the config rule. */
class Cifar100RunTest {
    @TempDir
    Path tmp;

    @Test
    void cifar100ImagesAreNormalizedWithItsOwnMeanAndStd() throws Exception {
        CifarFiles.writeCifar100Folder(tmp, 4, 2);
        ImageSet train = Cifar.load(CifarFormat.CIFAR100, tmp, 0, 0).train();
        float[] batch = Augmentation.batch(train, new int[] {2}, null);
        // channel c at (y, x): (byte - mean[c]) / std[c] with CIFAR-100's 129.3, 124.1, 112.4 and 68.2, 65.4, 70.4
        double[] mean = {129.3, 124.1, 112.4}, std = {68.2, 65.4, 70.4};
        for (int c = 0; c < 3; c++) {
            float expected = (float) ((CifarFiles.pixel(0, 2, c, 7, 11) - mean[c]) / std[c]);
            assertEquals(expected, batch[c * 1024 + 7 * 32 + 11], 0f, "channel " + c);
        }
    }

    @Test
    void aRunOnCifar100HasAHundredClassHeadAndEvalNamesItsClasses() throws Exception {
        CifarFiles.writeCifar100Folder(tmp.resolve("data"), 60, 30);
        Path config = Files.writeString(tmp.resolve("c100.json"), """
                {"name": "c100", "model": {"depth": 8, "width": 4}, "batch_size": 10, "device": "cpu", "threads": 1, "epochs": 2,
                 "data": {"dataset": "cifar100"}}""");
        Path run = tmp.resolve("run");
        assertEquals(0, Main.run(List.of("train", "--config", config.toString(), "--set", "data.path=" + tmp.resolve("data"), "--set", "output=" + run)));
        assertEquals(2, Files.readAllLines(run.resolve("metrics.jsonl")).size());
        Path weights = tmp.resolve("w.pt");
        assertEquals(0, Main.run(List.of("export", "--checkpoint", run.toString(), "--out", weights.toString())));
        Map<String, Tensor> state = TensorFiles.load(weights);
        assertArrayEquals(new long[] {100, 16}, state.get("fc.weight").shape(), "the head has one output per fine class");
        Object[] eval = RunCommandsTest.capture("eval", "--checkpoint", run.toString());
        assertEquals(0, eval[0]);
        String out = (String) eval[1];
        assertTrue(out.contains("aquarium_fish") && out.contains("willow_tree"), out);
        assertTrue(out.contains("the confusion matrix (100 x 100) is in the JSON"), out);
        String[] lines = out.strip().split("\n");
        JsonNode json = ConfigLoader.JSON.readTree(lines[lines.length - 1]);
        assertEquals(100, json.get("classes").size());
        assertEquals(100, json.get("confusion_matrix").size());
        assertEquals(30, json.get("images").asInt());
    }

    @Test
    void coarseLabelsTrainATwentyClassHeadAndAreRefusedForCifar10() throws Exception {
        CifarFiles.writeCifar100Folder(tmp.resolve("data"), 40, 20);
        Path config = Files.writeString(tmp.resolve("coarse.json"), """
                {"name": "coarse", "model": {"depth": 8, "width": 4}, "batch_size": 10, "device": "cpu", "threads": 1, "epochs": 1,
                 "data": {"dataset": "cifar100", "labels": "coarse"}}""");
        Path run = tmp.resolve("run");
        assertEquals(0, Main.run(List.of("train", "--config", config.toString(), "--set", "data.path=" + tmp.resolve("data"), "--set", "output=" + run)));
        Object[] eval = RunCommandsTest.capture("eval", "--checkpoint", run.toString(), "--format", "json");
        JsonNode json = ConfigLoader.JSON.readTree(((String) eval[1]).strip());
        assertEquals(20, json.get("classes").size());
        assertEquals("aquatic_mammals", json.get("classes").get(0).asText());

        Object[] refused = RunCommandsTest.captureErr("train", "--config", config.toString(), "--set", "data.dataset=cifar10");
        assertEquals(2, refused[0]);
        assertTrue(((String) refused[1]).contains("data.labels: must be fine with data.dataset cifar10"), (String) refused[1]);
    }
}
