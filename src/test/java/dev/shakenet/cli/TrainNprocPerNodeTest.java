package dev.shakenet.cli;

import static org.junit.jupiter.api.Assertions.*;

import dev.shakenet.cli.CommandLineTest.Outcome;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** train --nproc-per-node N: its value, its refusal inside a rank, and the command line each rank runs. */
class TrainNprocPerNodeTest {
    @TempDir
    Path tmp;

    @Test
    void aCountBelowOneIsAUsageError() {
        for (String value : List.of("0", "-2", "two")) {
            Outcome r = CommandLineTest.run("train", "--config", "c.json", "--nproc-per-node", value);
            assertEquals(2, r.code(), r.err());
            assertTrue(r.err().contains("'--nproc-per-node'") && r.err().contains("needs a positive integer, got '" + value + "'"), r.err());
        }
    }

    @Test
    void oneProcessTrainsInThisOne() {
        Path missing = tmp.resolve("missing.json");
        Outcome r = CommandLineTest.run("train", "--config", missing.toString(), "--nproc-per-node", "1");
        assertEquals(2, r.code(), r.err());
        assertEquals("shakenet: config: config file " + missing + " does not exist", r.err().strip(), "no launcher, no [rank r] prefix");
    }

    @Test
    void aProcessThatIsARankMayNotStartRanks() {
        String refusal = RankCommand.refusal(Map.of("RANK", "1", "WORLD_SIZE", "2", "PATH", "/usr/bin"));
        assertNotNull(refusal);
        assertTrue(refusal.startsWith("--nproc-per-node starts ranks, but this process already is one (RANK=1, WORLD_SIZE=2"), refusal);
        assertTrue(refusal.contains("unset RANK and WORLD_SIZE"), refusal);
        assertTrue(RankCommand.refusal(Map.of("WORLD_SIZE", "4")).contains("(WORLD_SIZE=4"));
        assertNull(RankCommand.refusal(Map.of("PATH", "/usr/bin", "LOCAL_RANK", "0")));
        assertNull(RankCommand.refusal(Map.of("SLURM_PROCID", "0", "SLURM_NTASKS", "1")), "a Slurm job of one task may start ranks");
    }

    @Test
    void eachRankRunsThisJvmAgainWithoutTheOption() {
        List<String> expected = List.of("/jdk/bin/java", "-Xms16m", "-XX:+UseSerialGC", "--enable-native-access=ALL-UNNAMED",
                "-cp", "/app/shakenet.jar", "dev.shakenet.cli.Main", "train", "--config", "c.json", "--set", "epochs=1");
        for (List<String> args : List.of(List.of("--config", "c.json", "--nproc-per-node", "2", "--set", "epochs=1"),
                List.of("--nproc-per-node=4", "--config", "c.json", "--set", "epochs=1"),
                List.of("--config", "c.json", "--set", "epochs=1", "--nproc-per-node", "8"))) {
            assertEquals(expected, RankCommand.of("/jdk/bin/java", List.of("-Xms16m", "-XX:+UseSerialGC"), "/app/shakenet.jar", args),
                    String.valueOf(args));
        }
        List<String> withAccess = RankCommand.of("java", List.of("--enable-native-access=ALL-UNNAMED"), "cp", List.of("--resume", "runs/a"));
        assertEquals(List.of("java", "--enable-native-access=ALL-UNNAMED", "-cp", "cp", "dev.shakenet.cli.Main", "train", "--resume", "runs/a"),
                withAccess, "native access is not given twice");
    }

    @Test
    void theRanksJvmOptionsLeaveOutWhatTheEnvironmentAddsAgain() {
        List<String> input = List.of("-javaagent:a.jar", "-Dx=1", "-Djdk=1", "-Xms16m", "-Dlast=1");
        Map<String, String> env = Map.of("JAVA_TOOL_OPTIONS", " -javaagent:a.jar  -Dx=1", "JDK_JAVA_OPTIONS", "-Djdk=1", "_JAVA_OPTIONS", "-Dlast=1");
        assertEquals(List.of("-Xms16m"), JvmOptions.fromCommandLine(input, env));
        assertEquals(input, JvmOptions.fromCommandLine(input, Map.of()));
        assertEquals(input, JvmOptions.fromCommandLine(input, Map.of("JAVA_TOOL_OPTIONS", "-Dother=2")), "what does not match stays");
    }

    /** {@code shakenet train args} in a JVM of its own, with {@code env} added to this one's (RANK and WORLD_SIZE removed). */
    static Process shakenet(Map<String, String> env, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-Dshakenet.library=" + System.getProperty("shakenet.library"),
                "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp", System.getProperty("java.class.path"), Main.class.getName(), "train"));
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().remove("RANK");
        builder.environment().remove("WORLD_SIZE");
        builder.environment().putAll(env);
        return builder.start();
    }

    /** Ends {@code p} and what it started (SIGKILL gives the launcher no chance to stop its ranks). */
    static void stop(Process p) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
    }

    @Test
    @Timeout(60)
    void insideARankTheOptionIsRefused() throws Exception {
        Process p = shakenet(Map.of("RANK", "0", "WORLD_SIZE", "2"), "--config", tmp.resolve("c.json").toString(), "--nproc-per-node", "2");
        try {
            String output = new String(p.getInputStream().readAllBytes());
            assertTrue(p.waitFor(30, TimeUnit.SECONDS));
            assertEquals(2, p.exitValue(), output);
            assertTrue(output.startsWith("shakenet train: --nproc-per-node starts ranks, but this process already is one (RANK=0, WORLD_SIZE=2"),
                    output);
        } finally {
            stop(p);
        }
    }

    @Test
    @Timeout(120)
    void theRanksRunTrainWithoutTheOption() throws Exception {
        // each rank fails on the missing config as train alone would; had it kept the option, it would be refused instead
        Path missing = tmp.resolve("missing.json");
        Process p = shakenet(Map.of(), "--nproc-per-node", "2", "--config", missing.toString());
        try {
            String output = new String(p.getInputStream().readAllBytes());
            assertTrue(p.waitFor(60, TimeUnit.SECONDS));
            assertEquals(2, p.exitValue(), output);
            // the other rank may be stopped before it gets as far
            Matcher failed = Pattern.compile("(?m)^shakenet: rank ([01]) exited with code 2(; stopped the other ranks)?$").matcher(output);
            assertTrue(failed.find(), output);
            String line = "[rank " + failed.group(1) + "] shakenet: config: config file " + missing + " does not exist";
            assertTrue(output.lines().anyMatch(line::equals), line + " in\n" + output);
            assertFalse(output.contains("already is one"), output);
        } finally {
            stop(p);
        }
    }
}
