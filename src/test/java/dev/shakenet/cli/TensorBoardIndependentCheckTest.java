package dev.shakenet.cli;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.shakenet.train.ConfigLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A run folder's event files, decoded by src/test/python/check_tensorboard.py with Debian's
 * python3-protobuf and protoc-generated classes (none of ShakeNet's code), equal its
 * metrics.jsonl, also after a resume that rewrites steps the first file already holds.
 */
class TensorBoardIndependentCheckTest {
    static final String PYTHON = System.getenv().getOrDefault("SHAKENET_PYTHON", "/usr/bin/python3");
    static final Path SCRIPT = Path.of(System.getProperty("shakenet.root", ".")).resolve("src/test/python/check_tensorboard.py");

    @TempDir
    Path tmp;

    @Test
    void aResumedRunsEventFilesReadByProtobufEqualMetricsJsonl() throws Exception {
        Path run = TensorBoardRunTest.trainTiny(tmp, "run", "epochs=3"); // 3 steps per epoch
        // As if the process died after epoch 3's figures were written but before its checkpoint:
        // the resume starts from epoch 2 (update 6) and writes updates 7-9 again.
        Files.delete(run.resolve("checkpoints/epoch-0003.pt"));
        assertEquals(0, Main.run(List.of("train", "--resume", run.toString(), "--set", "epochs=4")));

        JsonNode summary = check(run, "--steps-per-epoch", "3", "--min-files", "2", "--min-purged", "1");
        assertEquals(2, summary.get("files").asInt());
        assertEquals("[7]", summary.get("session_starts").toString(), "one START, at the first update after the checkpoint");
        assertEquals(4, summary.get("epochs").asInt());
        assertEquals(16, summary.get("epoch_values_compared").asInt(), "4 epochs x 4 figures");
        // the first file's points at updates 7, 8, 9 (its epoch 3: 2 log intervals x 4 tags, 4 epoch figures) are dropped
        assertEquals(2 * 4 + 4, summary.get("purged_points").asInt(), summary.toString());
        assertEquals(2, summary.get("points").get("config/text_summary").asInt(), "the config at step 0 and at the resume");
    }

    @Test
    void theScriptFailsWhenTheFiguresDisagree() throws Exception {
        Path run = TensorBoardRunTest.trainTiny(tmp, "run", "epochs=1");
        check(run); // as written: passes
        Path metrics = run.resolve("metrics.jsonl");
        ObjectNode line = (ObjectNode) ConfigLoader.JSON.readTree(Files.readString(metrics));
        line.put("train_loss", line.get("train_loss").asDouble() + 1e-3);
        Files.writeString(metrics, line + "\n");
        Result r = runScript(run);
        assertEquals(1, r.exit(), r.output());
        assertTrue(r.output().contains("epoch/train_loss"), r.output());
    }

    record Result(int exit, String output) {}

    private static Result runScript(Path run, String... options) throws Exception {
        List<String> command = new ArrayList<>(List.of(PYTHON, SCRIPT.toString(), run.toString()));
        command.addAll(List.of(options));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "check_tensorboard.py did not finish in 120 s");
        return new Result(p.exitValue(), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
    }

    private static JsonNode check(Path run, String... options) throws Exception {
        Result r = runScript(run, options);
        assertNotEquals(2, r.exit(), "check_tensorboard.py cannot run here (bin/setup installs python3-protobuf and protobuf-compiler): " + r.output());
        assertEquals(0, r.exit(), r.output());
        String out = r.output().strip();
        return ConfigLoader.JSON.readTree(out.substring(out.lastIndexOf('\n') + 1));
    }
}
