package dev.shakenet.cli;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import dev.shakenet.data.Batches;
import dev.shakenet.data.CifarFiles;
import dev.shakenet.tensorboard.EventFileReader;
import dev.shakenet.train.Checkpoint;
import dev.shakenet.train.ConfigLoader;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code shakenet train --nproc-per-node 2} end to end: two ranks train one run, and SIGTERM to the launcher stops both with a checkpoint. */
class NprocPerNodeTrainingTest {
    @TempDir
    Path tmp;

    /** {@code shakenet train --nproc-per-node 2 args} in a JVM of its own, its output (both streams) in {@code log}. */
    Process launch(Path log, String... args) throws IOException {
        return launch(2, log, args);
    }

    /** The same with {@code nproc} ranks (1: one process training alone). */
    Process launch(int nproc, Path log, String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-Dshakenet.library=" + System.getProperty("shakenet.library"),
                "-XX:+UseSerialGC", "-cp", System.getProperty("java.class.path"), Main.class.getName(), "train", "--nproc-per-node", String.valueOf(nproc)));
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        builder.environment().remove("RANK");
        builder.environment().remove("WORLD_SIZE");
        return builder.start();
    }

    Path tinyConfig() throws IOException {
        CifarFiles.writeFolder(tmp.resolve("data"), 10); // 50 training, 10 test images
        return Files.writeString(tmp.resolve("tiny.json"), """
                {"name": "tiny", "model": {"depth": 8, "width": 4}, "batch_size": 8, "device": "cpu", "threads": 1,
                 "data": {"path": "%s"}, "distributed": {"timeout_seconds": 60}}""".formatted(tmp.resolve("data")));
    }

    static void stop(Process launcher) {
        launcher.descendants().forEach(ProcessHandle::destroyForcibly);
        launcher.destroyForcibly();
    }

    @Test
    @Timeout(240)
    void twoRanksTrainOneRunAndSigtermStopsBoth() throws Exception {
        Path config = tinyConfig();
        Path run = tmp.resolve("run"), log = tmp.resolve("launch.txt");
        Process launcher = launch(log, "--config", config.toString(), "--set", "epochs=2", "--set", "output=" + run);
        try {
            assertTrue(launcher.waitFor(200, TimeUnit.SECONDS), "the run finishes");
            assertEquals(0, launcher.exitValue(), Files.readString(log));
        } finally {
            stop(launcher);
        }
        String out = Files.readString(log);
        assertTrue(out.contains("[rank 1] ") && out.contains("(the launcher's)"), "rank 1 joined the launcher's store: " + out);
        assertEquals(2, Files.readAllLines(run.resolve("metrics.jsonl")).size());
        JsonNode start = ConfigLoader.JSON.readTree(run.resolve("run.json").toFile()).get("starts").get(0);
        assertEquals(2, start.get("world_size").asInt());

        // resumed for many more epochs, and stopped once the first of them is done
        Path stopLog = tmp.resolve("stop.txt");
        Process again = launch(stopLog, "--resume", run.toString(), "--set", "epochs=10000");
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(150);
            while (!Files.readString(stopLog).contains("epoch 3/10000")) {
                assertTrue(again.isAlive() && System.nanoTime() < deadline, "no third epoch: " + Files.readString(stopLog));
                Thread.sleep(50);
            }
            List<ProcessHandle> ranks = again.children().toList();
            assertEquals(2, ranks.size(), "the launcher's children are its two ranks");
            again.toHandle().destroy(); // SIGTERM to the launcher
            assertTrue(again.waitFor(60, TimeUnit.SECONDS), "the launcher stops");
            String stopped = Files.readString(stopLog);
            assertEquals(143, again.exitValue(), stopped);
            assertTrue(stopped.contains("shakenet: SIGTERM: passing it on to every rank"), stopped);
            assertTrue(stopped.contains("[rank 0] ") && stopped.contains("stopped by SIGTERM; newest checkpoint"), stopped);
            assertTrue(stopped.contains("[rank 1] ") && stopped.contains("stopped by SIGTERM, with rank 0"), stopped);
            assertTrue(stopped.contains("Continue with: shakenet train --resume " + run + " --nproc-per-node 2"), stopped);
            assertTrue(ranks.stream().noneMatch(ProcessHandle::isAlive), "no rank outlives the launcher");
        } finally {
            stop(again);
        }
    }

    @Test
    @Timeout(240)
    void aRankKilledWith9StopsTheRunNamingItAndTheLastCheckpointResumes() throws Exception {
        Path config = tinyConfig();
        Path run = tmp.resolve("run"), log = tmp.resolve("launch.txt");
        Process launcher = launch(log, "--config", config.toString(), "--set", "epochs=10000", "--set", "output=" + run);
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(150);
            while (!Files.readString(log).contains("epoch-0002.pt")) {
                assertTrue(launcher.isAlive() && System.nanoTime() < deadline, "no second checkpoint: " + Files.readString(log));
                Thread.sleep(20);
            }
            ProcessHandle rank1 = launcher.children().filter(p -> rankOf(p) == 1).findFirst().orElseThrow();
            new ProcessBuilder("kill", "-9", String.valueOf(rank1.pid())).start().waitFor();
            assertTrue(launcher.waitFor(60, TimeUnit.SECONDS), "the launcher ends soon after: " + Files.readString(log));
            String out = Files.readString(log);
            assertEquals(137, launcher.exitValue(), out);
            assertTrue(out.contains("shakenet: rank 1 exited with code 137 (killed by SIGKILL)"), out);
            assertTrue(launcher.descendants().noneMatch(ProcessHandle::isAlive), "rank 0 is stopped too");
        } finally {
            stop(launcher);
        }
        int epochs;
        try (Checkpoint last = Checkpoint.read(run)) { // the newest checkpoint reads back intact (CRCs checked)
            epochs = last.meta().epoch();
            assertTrue(epochs >= 2, "epoch " + epochs);
            assertEquals(2, last.meta().processes());
        }
        Path resumeLog = tmp.resolve("resume.txt");
        Process again = launch(resumeLog, "--resume", run.toString(), "--set", "epochs=" + (epochs + 1));
        try {
            assertTrue(again.waitFor(200, TimeUnit.SECONDS), "the resumed run finishes");
            assertEquals(0, again.exitValue(), Files.readString(resumeLog));
        } finally {
            stop(again);
        }
        assertTrue(Files.readString(resumeLog).contains("resuming after epoch " + epochs), Files.readString(resumeLog));
        assertEquals(epochs + 1, Files.readAllLines(run.resolve("metrics.jsonl")).size(), "one line per epoch, none twice");

        // and on with one process: allowed, with a warning about the global batch
        Path aloneLog = tmp.resolve("alone.txt");
        Process alone = launch(1, aloneLog, "--resume", run.toString(), "--set", "epochs=" + (epochs + 2));
        try {
            assertTrue(alone.waitFor(200, TimeUnit.SECONDS), "the run goes on alone");
            assertEquals(0, alone.exitValue(), Files.readString(aloneLog));
        } finally {
            stop(alone);
        }
        assertTrue(Files.readString(aloneLog).contains("the checkpoint was trained by 2 process(es), this run has 1: batch_size 8 per process "
                + "makes 8 images per step (it was 16)"), Files.readString(aloneLog));
        List<String> lines = Files.readAllLines(run.resolve("metrics.jsonl"));
        assertEquals(epochs + 2, lines.size());

        // TensorBoard's view, after a kill -9 (rank 0 may have written points past the checkpoint)
        // and a resume on half the processes (twice the updates per epoch): one epoch point per
        // metrics line, equal to it, at the updates done in all
        List<EventFileReader.Event> trainLoss = EventFileReader.replay(run).stream().filter(e -> "epoch/train_loss".equals(e.tag())).toList();
        assertEquals(lines.size(), trainLoss.size(), trainLoss.toString());
        for (int i = 0; i < lines.size(); i++) {
            assertEquals((float) ConfigLoader.JSON.readTree(lines.get(i)).get("train_loss").asDouble(), trainLoss.get(i).value(), 0f, "epoch " + (i + 1));
        }
        long two = Batches.batchCount(Batches.shareSize(50, 2), 8), one = Batches.batchCount(Batches.shareSize(50, 1), 8);
        for (int i = 0; i <= epochs; i++) assertEquals((i + 1) * two, trainLoss.get(i).step(), "epoch " + (i + 1) + " on 2 processes");
        assertEquals((epochs + 1) * two + one, trainLoss.getLast().step(), "then one process's updates count on");
    }

    /** The RANK a process of ours was started with (from /proc), or -1. */
    static int rankOf(ProcessHandle p) {
        try {
            for (String v : Files.readString(Path.of("/proc", String.valueOf(p.pid()), "environ")).split("\0")) {
                if (v.startsWith("RANK=")) return Integer.parseInt(v.substring(5));
            }
        } catch (IOException e) {
            // gone
        }
        return -1;
    }
}
