package dev.shakenet.cli;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import dev.shakenet.data.CifarFiles;
import dev.shakenet.train.ConfigLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Each model family trains, checkpoints, evaluates and resumes through the command line; a resume may not change the family. */
class ModelFamiliesRunTest {
    @TempDir
    Path tmp;

    @ParameterizedTest
    @CsvSource(delimiter = ';', value = {
        "{\"family\": \"pyramidnet\", \"depth\": 8, \"alpha\": 12}; pyramidnet, depth 8, alpha 12.0, basic",
        "{\"family\": \"pyramidnet\", \"depth\": 11, \"alpha\": 12, \"bottleneck\": true}; pyramidnet, depth 11, alpha 12.0, bottleneck",
        "{\"family\": \"shake_resnext\", \"depth\": 29, \"cardinality\": 1, \"width\": 1}; shake_resnext, depth 29, cardinality 1, width 1"})
    void trainsEvaluatesAndResumes(String model, String shape) throws Exception {
        CifarFiles.writeFolder(tmp.resolve("data"), 4); // 20 training, 4 test images
        Path config = Files.writeString(tmp.resolve("family.json"), """
                {"name": "family", "model": %s, "batch_size": 10, "device": "cpu", "threads": 2, "epochs": 1}""".formatted(model));
        Path run = tmp.resolve("run");
        assertEquals(0, Main.run(List.of("train", "--config", config.toString(), "--set", "data.path=" + tmp.resolve("data"), "--set", "output=" + run)));
        Object[] eval = RunCommandsTest.capture("eval", "--checkpoint", run.toString(), "--format", "json");
        assertEquals(0, eval[0]);
        JsonNode json = ConfigLoader.JSON.readTree(((String) eval[1]).strip());
        assertEquals(4, json.get("images").asInt());
        assertEquals(0, Main.run(List.of("train", "--resume", run.toString(), "--set", "epochs=2")));
        assertEquals(2, Files.readAllLines(run.resolve("metrics.jsonl")).size());
        Object[] refused = RunCommandsTest.captureErr("train", "--resume", run.toString(), "--set", "model.family=shake_resnet", "--set", "model.depth=8", "--set", "model.width=32",
                "--set", "epochs=3");
        assertEquals(2, refused[0], (String) refused[1]);
        assertTrue(((String) refused[1]).contains("the config changes the model's shape (" + shape + " in the checkpoint, depth 8, width 32 now)"),
                (String) refused[1]);
    }
}
