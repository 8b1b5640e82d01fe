package dev.shakenet.cli;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import dev.shakenet.data.CifarFiles;
import dev.shakenet.train.ConfigException;
import dev.shakenet.train.ConfigLoader;
import dev.shakenet.train.RunLock;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** eval, export, plot and resume through the command line, and a kill -9 in the middle of a run. */
class RunCommandsTest {
    @TempDir
    Path tmp;

    /** Runs Main with stdout captured; returns {exit code, stdout}. */
    static Object[] capture(String... args) {
        PrintStream saved = System.out;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        System.setOut(new PrintStream(out, true));
        try {
            return new Object[] {Main.run(List.of(args)), out.toString()};
        } finally {
            System.setOut(saved);
        }
    }

    Path tinyRun(int epochs) throws Exception {
        CifarFiles.writeFolder(tmp.resolve("data"), 6);
        Path config = Files.writeString(tmp.resolve("tiny.json"), """
                {"name": "tiny", "model": {"depth": 8, "width": 4}, "batch_size": 10, "device": "cpu"}""");
        Path out = tmp.resolve("run");
        assertEquals(0, Main.run(List.of("train", "--config", config.toString(), "--set", "epochs=" + epochs,
                "--set", "data.path=" + tmp.resolve("data"), "--set", "output=" + out)));
        return out;
    }

    @Test
    void evalPrintsAccuracyPerClassAndTheConfusionMatrixAsTextAndJson() throws Exception {
        Path run = tinyRun(2);
        Object[] result = capture("eval", "--checkpoint", run.toString());
        assertEquals(0, result[0]);
        String out = (String) result[1];
        assertTrue(out.contains("per-class accuracy") && out.contains("confusion matrix (rows: true class, columns: predicted)"), out);
        assertTrue(out.contains("airplane") && out.contains("truck"), out);
        String[] lines = out.strip().split("\n");
        JsonNode json = ConfigLoader.JSON.readTree(lines[lines.length - 1]);
        long total = 0, diagonal = 0;
        for (int t = 0; t < 10; t++)
            for (int p = 0; p < 10; p++) {
                total += json.get("confusion_matrix").get(t).get(p).asLong();
                if (t == p) diagonal += json.get("confusion_matrix").get(t).get(p).asLong();
            }
        assertEquals(6, total, "every test image counted once");
        assertEquals((double) diagonal / total, json.get("test_accuracy").asDouble(), 1e-12);
        // The trainer's own last test accuracy, for the same weights.
        List<String> metrics = Files.readAllLines(run.resolve("metrics.jsonl"));
        assertEquals(ConfigLoader.JSON.readTree(metrics.getLast()).get("test_accuracy").asDouble(), json.get("test_accuracy").asDouble(), 1e-12);
        assertEquals(10, json.get("per_class_accuracy").size());
    }

    @Test
    void theRunFolderHasCurvesVersionsAndCheckpoints() throws Exception {
        Path run = tinyRun(2);
        assertTrue(Files.size(run.resolve("curves.png")) > 1000);
        JsonNode info = ConfigLoader.JSON.readTree(run.resolve("run.json").toFile()).get("starts").get(0);
        for (String key : List.of("shakenet", "libtorch", "jdk", "device", "device_name", "git_commit", "host", "started", "command")) {
            assertTrue(info.hasNonNull(key), key + " in " + info);
        }
        assertEquals(dev.shakenet.torch.Torch.version(), info.get("libtorch").asText());
        assertEquals("cpu", info.get("device").asText());
        assertTrue(Files.exists(run.resolve("checkpoints/epoch-0002.pt")));
        assertEquals(0, capture("plot", run.toString(), "--out", tmp.resolve("p.png").toString())[0]);
        assertTrue(Files.size(tmp.resolve("p.png")) > 1000);
    }

    @Test
    void aDivergingRunExitsWith3NamingTheStepAndLeavesNoCheckpointOrNaN() throws Exception {
        CifarFiles.writeFolder(tmp.resolve("data"), 6);
        Path config = Files.writeString(tmp.resolve("tiny.json"), """
                {"name": "tiny", "model": {"depth": 8, "width": 4}, "batch_size": 10, "device": "cpu", "epochs": 3}""");
        Path run = tmp.resolve("run");
        assertEquals(3, Main.run(List.of("train", "--config", config.toString(), "--set", "optimizer.lr=1e6", "--set", "schedule.type=constant",
                "--set", "data.path=" + tmp.resolve("data"), "--set", "output=" + run)));
        String log = Files.readString(run.resolve("train.log"));
        assertTrue(log.contains("hold inf or NaN at epoch 1, step") && log.contains("learning rate 1000000:"), log);
        assertFalse(Files.exists(run.resolve("checkpoints/epoch-0001.pt")) || Files.exists(run.resolve("checkpoints/best.pt")), log);
        assertFalse(Files.exists(run.resolve("metrics.jsonl")) && Files.readString(run.resolve("metrics.jsonl")).contains("NaN"));
        // skip: the updates are dropped until the patience runs out
        Path skipped = tmp.resolve("skipped");
        assertEquals(3, Main.run(List.of("train", "--config", config.toString(), "--set", "optimizer.lr=1e6", "--set", "schedule.type=constant",
                "--set", "nonfinite=skip", "--set", "nonfinite_patience=2", "--set", "data.path=" + tmp.resolve("data"), "--set", "output=" + skipped)));
        assertTrue(Files.readString(skipped.resolve("train.log")).contains("in 2 steps in a row (nonfinite_patience)"));
    }

    @Test
    void resumingAFolderKilledBeforeItsFirstCheckpointStartsTheRunOver() throws Exception {
        Path run = tinyRun(2);
        List<String> whole = Files.readAllLines(run.resolve("metrics.jsonl"));
        try (var files = Files.list(run.resolve("checkpoints"))) {
            for (Path f : files.toList()) Files.delete(f);
        }
        Files.writeString(run.resolve("metrics.jsonl"), whole.getFirst() + "\n"); // a line whose checkpoint never got written
        assertEquals(0, Main.run(List.of("train", "--resume", run.toString())));
        assertTrue(Files.readString(run.resolve("train.log")).contains("holds no checkpoint yet: the run starts from its beginning"));
        assertEquals(withoutTimings(whole), withoutTimings(Files.readAllLines(run.resolve("metrics.jsonl"))),
                "the same two epochs again, the stale line gone");
    }

    /** Metrics lines without their timing fields. */
    private static List<String> withoutTimings(List<String> lines) throws Exception {
        List<String> out = new ArrayList<>();
        for (String line : lines) {
            com.fasterxml.jackson.databind.node.ObjectNode node = (com.fasterxml.jackson.databind.node.ObjectNode) ConfigLoader.JSON.readTree(line);
            node.remove("images_per_second");
            node.remove("seconds");
            out.add(node.toString());
        }
        return out;
    }

    @Test
    void resumeRunsTheRemainingEpochsAndLogsTheChange() throws Exception {
        Path run = tinyRun(2);
        assertEquals(0, Main.run(List.of("train", "--resume", run.toString(), "--set", "epochs=3")));
        assertEquals(3, Files.readAllLines(run.resolve("metrics.jsonl")).size());
        assertTrue(Files.readString(run.resolve("train.log")).contains("resume with a changed config: epochs: 2 -> 3"));
        assertEquals(2, ConfigLoader.JSON.readTree(run.resolve("run.json").toFile()).get("starts").size());
        assertEquals(2, Main.run(List.of("train", "--resume", run.toString(), "--set", "model.width=8")), "a shape change is refused");
    }

    @Test
    void aRunFolderInUseByAnotherTrainerIsRefused() throws Exception {
        Path run = tinyRun(1);
        List<String> before = Files.readAllLines(run.resolve("metrics.jsonl"));
        try (RunLock other = RunLock.acquire(run)) { // as another process training into it would hold it
            ConfigException e = assertThrows(ConfigException.class, () -> RunLock.acquire(run));
            assertTrue(e.getMessage().contains("in use by another ShakeNet run (pid " + ProcessHandle.current().pid() + ")"), e.getMessage());
            assertEquals(2, Main.run(List.of("train", "--resume", run.toString(), "--set", "epochs=2")));
            assertEquals(before, Files.readAllLines(run.resolve("metrics.jsonl")), "nothing written while refused");
        }
        assertEquals(0, Main.run(List.of("train", "--resume", run.toString(), "--set", "epochs=2")), "free again once released");
        assertEquals(2, Files.readAllLines(run.resolve("metrics.jsonl")).size());
    }

    /** Runs Main with stderr captured; returns {exit code, stderr}. */
    static Object[] captureErr(String... args) {
        PrintStream saved = System.err;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        System.setErr(new PrintStream(err, true));
        try {
            return new Object[] {Main.run(List.of(args)), err.toString().strip()};
        } finally {
            System.setErr(saved);
        }
    }

    private Object[] trainInto(Path output) throws Exception {
        CifarFiles.writeFolder(tmp.resolve("data"), 6);
        Path config = Files.writeString(tmp.resolve("tiny.json"), """
                {"name": "tiny", "model": {"depth": 8, "width": 4}, "batch_size": 10, "device": "cpu", "epochs": 1}""");
        return captureErr("train", "--config", config.toString(), "--set", "data.path=" + tmp.resolve("data"), "--set", "output=" + output);
    }

    @Test
    void anOutputFolderThatCannotBeMadeIsRefusedBeforeTraining() throws Exception {
        Path file = Files.writeString(tmp.resolve("a-file"), "x");
        Object[] result = trainInto(file.resolve("run"));
        assertEquals(2, result[0], (String) result[1]);
        assertEquals("shakenet: config: output: cannot write in " + file.resolve("run") + ": " + file + " is a file, not a folder; "
                + "choose another folder with --set output=<folder>, or make this one writable", result[1]);
        // A run folder whose checkpoints/ is a file: --resume is refused before loading anything.
        Path run = Files.createDirectories(tmp.resolve("run"));
        Files.writeString(run.resolve("checkpoints"), "x");
        Object[] resumed = captureErr("train", "--resume", run.toString());
        assertEquals(2, resumed[0], (String) resumed[1]);
        assertTrue(((String) resumed[1]).startsWith("shakenet: config: output: cannot write in " + run.resolve("checkpoints") + ": "
                + run.resolve("checkpoints") + " is a file, not a folder; "), (String) resumed[1]);
    }

    @Test
    void aReadOnlyOutputFolderIsRefusedBeforeTraining() throws Exception {
        Path locked = Files.createDirectories(tmp.resolve("locked"));
        Files.setPosixFilePermissions(locked, java.nio.file.attribute.PosixFilePermissions.fromString("r-xr-xr-x"));
        try {
            org.junit.jupiter.api.Assumptions.assumeFalse(Files.isWritable(locked), "running as root: permissions do not stop writes, test skipped");
            Object[] result = trainInto(locked);
            assertEquals(2, result[0], (String) result[1]);
            assertTrue(((String) result[1]).startsWith("shakenet: config: output: cannot write in " + locked + ": "), (String) result[1]);
            assertFalse(Files.exists(locked.resolve("metrics.jsonl")));
        } finally {
            Files.setPosixFilePermissions(locked, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        }
    }

    @Test
    void aRunKilledWithSigkillResumesFromItsNewestCheckpoint() throws Exception {
        interruptAndResume("KILL");
    }

    @Test
    void aRunStoppedWithCtrlCResumesFromItsNewestCheckpoint() throws Exception {
        interruptAndResume("INT");
    }

    @Test
    void aRunStoppedWithSigtermWritesACheckpointOfItsStepAndExits143() throws Exception {
        interruptAndResume("TERM");
    }

    private void interruptAndResume(String signal) throws Exception {
        CifarFiles.writeFolder(tmp.resolve("data"), 6);
        Path config = Files.writeString(tmp.resolve("long.json"), """
                {"name": "long", "model": {"depth": 8, "width": 4}, "batch_size": 10, "device": "cpu", "threads": 1, "epochs": 100000}""");
        Path run = tmp.resolve("run");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        // python3 puts SIGINT back to its default first: a launcher that runs the tests in the background of a
        // non-interactive shell hands them SIGINT ignored, and the JVM then leaves it ignored, as nohup'd programs expect.
        List<String> command = new ArrayList<>(List.of("python3", "-c",
                "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execvp(sys.argv[1], sys.argv[1:])",
                java, "--enable-native-access=ALL-UNNAMED", "-Dshakenet.library=" + dev.shakenet.torch.NativeLibrary.path(),
                "-cp", System.getProperty("java.class.path"), "dev.shakenet.cli.Main", "train", "--config", config.toString(),
                "--set", "data.path=" + tmp.resolve("data"), "--set", "output=" + run));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(tmp.resolve("out.txt").toFile()).start();
        try {
            stopAndResume(p, signal, run);
        } finally {
            p.destroyForcibly(); // never outlives a failed test
        }
    }

    private void stopAndResume(Process p, String signal, Path run) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline && (!Files.exists(run.resolve("checkpoints/epoch-0005.pt")) && lines(run) < 6)) Thread.sleep(50);
        // SIGKILL, SIGINT (Ctrl-C) or SIGTERM, mid-whatever it was doing
        assertEquals(0, new ProcessBuilder("kill", "-" + signal, String.valueOf(p.pid())).start().waitFor());
        if (signal.equals("TERM")) { // a second one, as an impatient scheduler sends, while the checkpoint may be being written
            Thread.sleep(20);
            new ProcessBuilder("kill", "-TERM", String.valueOf(p.pid())).start().waitFor();
        }
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the process ends after its step and checkpoint: " + Files.readString(tmp.resolve("out.txt")));
        if (!signal.equals("KILL")) {
            String out = Files.readString(tmp.resolve("out.txt"));
            assertEquals(signal.equals("INT") ? 130 : 143, p.exitValue(), "128 + the signal's number, as shells expect: " + out);
            assertTrue(out.contains("SIG" + signal + ": finishing the current step, then writing a checkpoint of it"), out);
            assertTrue(out.contains("stopped by SIG" + signal + "; newest checkpoint " + run.resolve("checkpoints")), out);
            assertTrue(out.contains("Continue with: shakenet train --resume " + run), out);
            assertFalse(out.contains("fatal error") || out.contains("hs_err"), "no JVM crash on SIG" + signal + ": " + out);
        }
        int before = lines(run);
        assertTrue(before >= 3, "the run got going: " + Files.readString(tmp.resolve("out.txt")));
        Object[] eval = capture("eval", "--checkpoint", run.toString(), "--format", "json");
        assertEquals(0, eval[0], "the newest checkpoint loads after SIG" + signal);
        int checkpointEpoch = ConfigLoader.JSON.readTree(((String) eval[1]).strip()).get("epoch").asInt();
        assertEquals(0, Main.run(List.of("train", "--resume", run.toString(), "--set", "epochs=" + (checkpointEpoch + 2))));
        List<String> metrics = Files.readAllLines(run.resolve("metrics.jsonl"));
        assertEquals(checkpointEpoch + 2, metrics.size(), "one line per epoch, none lost or doubled");
        for (int i = 0; i < metrics.size(); i++) assertEquals(i + 1, ConfigLoader.JSON.readTree(metrics.get(i)).get("epoch").asInt());
    }

    private static int lines(Path run) throws Exception {
        Path file = run.resolve("metrics.jsonl");
        return Files.exists(file) ? Files.readAllLines(file).size() : 0;
    }
}
