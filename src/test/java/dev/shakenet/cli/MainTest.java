package dev.shakenet.cli;

import static org.junit.jupiter.api.Assertions.*;

import dev.shakenet.data.CifarFiles;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** train through the command line: config errors, missing data, and a whole run on a small CIFAR-format folder. */
class MainTest {
    @TempDir
    Path tmp;

    /** Runs Main with stderr captured; returns {exit code, stderr}. */
    static Object[] run(String... args) {
        PrintStream saved = System.err;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        System.setErr(new PrintStream(err, true));
        try {
            return new Object[] {Main.run(List.of(args)), err.toString()};
        } finally {
            System.setErr(saved);
        }
    }

    @Test
    void aConfigErrorStopsBeforeAnyWork() throws Exception {
        Path config = Files.writeString(tmp.resolve("c.json"), "{\"name\": \"t\", \"epochs\": 0, \"output\": \"" + tmp.resolve("out") + "\"}");
        Object[] result = run("train", "--config", config.toString());
        assertEquals(2, result[0]);
        assertTrue(((String) result[1]).contains("epochs: must be >= 1"), (String) result[1]);
        assertFalse(Files.exists(tmp.resolve("out")), "no run folder for a config that fails");
    }

    @Test
    void missingDataIsAnErrorNamingWhatWasExpected() throws Exception {
        Path config = Files.writeString(tmp.resolve("c.json"), "{\"name\": \"t\", \"data\": {\"path\": \"" + tmp.resolve("nodata") + "\"}}");
        Object[] result = run("train", "--config", config.toString());
        assertEquals(1, result[0]);
        assertTrue(((String) result[1]).contains("no CIFAR-10 found at"), (String) result[1]);
    }

    @Test
    void trainWritesConfigMetricsAndLogThenRefusesToOverwrite() throws Exception {
        CifarFiles.writeFolder(tmp.resolve("data"), 8);
        Path out = tmp.resolve("run");
        Path config = Files.writeString(tmp.resolve("tiny.json"), """
                {"name": "tiny", "model": {"depth": 8, "width": 4}, "epochs": 2, "batch_size": 8, "device": "cpu"}""");
        Object[] result = run("train", "--config", config.toString(), "--set", "data.path=" + tmp.resolve("data"), "--set", "output=" + out);
        assertEquals(0, result[0], (String) result[1]);
        assertEquals(2, Files.readAllLines(out.resolve("metrics.jsonl")).size());
        String resolved = Files.readString(out.resolve("config.json"));
        assertTrue(resolved.contains("\"path\" : \"" + tmp.resolve("data") + "\""), "overrides are in the resolved config: " + resolved);
        assertTrue(resolved.contains("\"weight_decay\""), "defaults are written out too");
        assertTrue(Files.readString(out.resolve("train.log")).contains("epoch 2/2"));
        Object[] again = run("train", "--config", config.toString(), "--set", "data.path=" + tmp.resolve("data"), "--set", "output=" + out);
        assertEquals(2, again[0]);
        assertTrue(((String) again[1]).contains("already holds a run"), (String) again[1]);
    }
}
