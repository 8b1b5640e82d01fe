package dev.shakenet.cli;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import dev.shakenet.train.ConfigLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The chaos check in its reduced form (bench/chaos.py, which bench/chaos.sh runs with more
 * stops): 3 SIGKILLs aimed at a step, an evaluation and a checkpoint write, and 2 SIGTERMs, each
 * followed by `train --resume`; the run must end with the uninterrupted run's metrics, line for line.
 */
class ChaosTest {
    @TempDir
    Path tmp;

    @Test
    void aRunKilledAndStoppedAgainAndAgainEndsAsAnUninterruptedOne() throws Exception {
        Path root = Path.of(System.getProperty("shakenet.root", "."));
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String launcher = String.join(" ", java, "--enable-native-access=ALL-UNNAMED", "-Dshakenet.library=" + dev.shakenet.torch.NativeLibrary.path(),
                "-cp", System.getProperty("java.class.path"), "dev.shakenet.cli.Main");
        Process p = new ProcessBuilder(List.of("python3", root.resolve("bench/chaos.py").toString(), "--kills", "3", "--terms", "2", "--epochs", "3",
                "--seed", "5", "--launcher", launcher, "--work", tmp.toString()))
                .redirectErrorStream(true).redirectOutput(tmp.resolve("chaos.txt").toFile()).start();
        assertTrue(p.waitFor(10, TimeUnit.MINUTES), "the chaos check ends");
        String out = Files.readString(tmp.resolve("chaos.txt"));
        assertEquals(0, p.exitValue(), out);
        List<String> lines = out.lines().filter(l -> l.startsWith("{")).toList();
        JsonNode report = ConfigLoader.JSON.readTree(lines.getLast());
        assertEquals(0, report.get("differences").asInt(), out);
        assertEquals(3, report.get("metrics_lines").asInt(), out);
        assertEquals(3, report.get("sigkill").asInt(), "every SIGKILL landed while the run trained: " + out);
        assertEquals(2, report.get("sigterm").asInt(), "every SIGTERM ended a process with 143: " + out);
        assertEquals(0, report.get("problems").size(), out);
    }
}
