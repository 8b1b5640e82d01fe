package dev.shakenet.distributed;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import dev.shakenet.data.CifarFiles;
import dev.shakenet.torch.NativeLibrary;
import dev.shakenet.torch.Store;
import dev.shakenet.train.ConfigLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The torchrun contract: two `shakenet train` processes given the variables torchrun's agent
 * sets (its store hosted here, as the agent hosts it) train one run together, and only rank 0
 * writes it.
 */
class TorchrunContractTest {
    @TempDir
    Path tmp;

    @Test
    @Timeout(240)
    void twoWorkersWithTorchrunsVariablesAndItsAgentStoreTrainOneRun() throws Exception {
        CifarFiles.writeFolder(tmp.resolve("data"), 10); // 50 training, 10 test images
        Path config = Files.writeString(tmp.resolve("tiny.json"), """
                {"name": "tiny", "model": {"depth": 8, "width": 4}, "batch_size": 8, "device": "cpu", "threads": 1, "epochs": 2,
                 "distributed": {"timeout_seconds": 60}}""");
        Path run = tmp.resolve("run");
        List<Process> workers = new ArrayList<>();
        try (Store agent = Store.hostTcp("127.0.0.1", 0, Duration.ofSeconds(60))) {
            for (int rank = 0; rank < 2; rank++) {
                ProcessBuilder pb = new ProcessBuilder(java(), "--enable-native-access=ALL-UNNAMED", "-Dshakenet.library=" + NativeLibrary.path(),
                        "-cp", System.getProperty("java.class.path"), "dev.shakenet.cli.Main", "train", "--config", config.toString(),
                        "--set", "data.path=" + tmp.resolve("data"), "--set", "output=" + run)
                        .redirectErrorStream(true).redirectOutput(tmp.resolve("rank" + rank + ".txt").toFile());
                Map<String, String> env = pb.environment();
                env.put("RANK", String.valueOf(rank));
                env.put("LOCAL_RANK", String.valueOf(rank));
                env.put("WORLD_SIZE", "2");
                env.put("LOCAL_WORLD_SIZE", "2");
                env.put("GROUP_RANK", "0");
                env.put("MASTER_ADDR", "127.0.0.1");
                env.put("MASTER_PORT", String.valueOf(agent.port()));
                env.put("TORCHELASTIC_USE_AGENT_STORE", "True");
                env.put("TORCHELASTIC_RESTART_COUNT", "2");
                workers.add(pb.start());
            }
            for (int rank = 0; rank < 2; rank++) {
                assertTrue(workers.get(rank).waitFor(200, TimeUnit.SECONDS), "rank " + rank + " finishes");
                assertEquals(0, workers.get(rank).exitValue(), "rank " + rank + ": " + Files.readString(tmp.resolve("rank" + rank + ".txt")));
            }
        } finally {
            workers.forEach(Process::destroyForcibly);
        }
        String rank0 = Files.readString(tmp.resolve("rank0.txt")), rank1 = Files.readString(tmp.resolve("rank1.txt"));
        // 50 images over 2 ranks: 25 each, batches of 8: 3 full and 1 of 1 image, dropped (batch norm needs two)
        assertTrue(rank0.contains("3 steps per epoch on each of 2 processes (gloo, rank 0; 16 images per step in all)"), rank0);
        assertTrue(rank0.contains("rank 0 of 2 (torchrun): joining the store at 127.0.0.1:") && rank0.contains("(the launcher's)"), rank0);
        assertTrue(rank1.contains("rank 1: rank 1 of 2 (torchrun)"), "rank 1's lines say whose they are: " + rank1);
        assertFalse(rank1.contains("checkpoint") || rank1.contains("epoch 1/2"), "rank 1 neither writes nor reports: " + rank1);
        assertEquals(2, Files.readAllLines(run.resolve("metrics.jsonl")).size());
        assertTrue(Files.exists(run.resolve("checkpoints/epoch-0002.pt")));
        JsonNode starts = ConfigLoader.JSON.readTree(run.resolve("run.json").toFile()).get("starts");
        assertEquals(1, starts.size(), "one run.json entry, rank 0's");
        assertEquals(2, starts.get(0).get("world_size").asInt());
        assertEquals("gloo", starts.get(0).get("backend").asText());
        assertEquals("torchrun", starts.get(0).get("launcher").asText());
        assertFalse(Files.readString(run.resolve("train.log")).contains("rank 1"), "train.log is rank 0's");
    }

    private static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }
}
