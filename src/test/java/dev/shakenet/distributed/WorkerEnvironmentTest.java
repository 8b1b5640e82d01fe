package dev.shakenet.distributed;

import static org.junit.jupiter.api.Assertions.*;

import dev.shakenet.train.ConfigException;
import dev.shakenet.train.RunConfig;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** A process's place in a data-parallel run, read from torchrun's or Slurm's variables. */
class WorkerEnvironmentTest {
    static final RunConfig.Distributed DEFAULTS = RunConfig.DEFAULTS.distributed();
    static final RunConfig.Distributed WITH_MASTER = new RunConfig.Distributed(DEFAULTS.backend(), DEFAULTS.timeoutSeconds(),
            DEFAULTS.bucketMb(), "node-0", 29600);

    static WorkerEnvironment worker(Map<String, String> env, RunConfig.Distributed config) {
        return WorkerEnvironment.of(env, config).orElseThrow(() -> new AssertionError("no worker environment in " + env));
    }

    static Map<String, String> torchrun(int rank, int world) {
        Map<String, String> env = new HashMap<>(Map.of("RANK", String.valueOf(rank), "WORLD_SIZE", String.valueOf(world),
                "LOCAL_RANK", String.valueOf(rank), "MASTER_ADDR", "10.0.0.7", "MASTER_PORT", "29501"));
        return env;
    }

    static String problem(Map<String, String> env, RunConfig.Distributed config) {
        return assertThrows(ConfigException.class, () -> WorkerEnvironment.of(env, config), String.valueOf(env)).getMessage();
    }

    @Test
    void torchrunWithoutTheAgentStoreHasRankZeroHostIt() {
        WorkerEnvironment w = worker(torchrun(1, 4), DEFAULTS);
        assertEquals(new WorkerEnvironment("torchrun", 1, 4, 1, "10.0.0.7", 29501, false, null), w);
        assertFalse(w.isLeader());
        assertTrue(worker(torchrun(0, 4), DEFAULTS).isLeader());
    }

    @Test
    void torchrunsAgentStoreGivesThePrefixOfTheRestart() {
        Map<String, String> env = torchrun(2, 4);
        env.put("TORCHELASTIC_USE_AGENT_STORE", "True");
        WorkerEnvironment first = worker(env, DEFAULTS);
        assertTrue(first.agentStore());
        assertEquals("/worker/attempt_0", first.storePrefix(), "no TORCHELASTIC_RESTART_COUNT: the first attempt");
        env.put("TORCHELASTIC_RESTART_COUNT", "3");
        assertEquals("/worker/attempt_3", worker(env, DEFAULTS).storePrefix());
        env.put("TORCHELASTIC_USE_AGENT_STORE", "False");
        WorkerEnvironment own = worker(env, DEFAULTS);
        assertFalse(own.agentStore());
        assertNull(own.storePrefix());
    }

    @Test
    void whatTorchrunLeavesOutComesFromTheConfig() {
        Map<String, String> env = new HashMap<>(Map.of("RANK", "1", "WORLD_SIZE", "2"));
        WorkerEnvironment w = worker(env, DEFAULTS);
        assertEquals(0, w.localRank());
        assertEquals("127.0.0.1", w.masterAddr());
        assertEquals(DEFAULTS.masterPort(), w.masterPort());
        WorkerEnvironment configured = worker(env, WITH_MASTER);
        assertEquals("node-0", configured.masterAddr());
        assertEquals(29600, configured.masterPort());
    }

    @Test
    void ourLauncherVariablesDescribeTheRank() {
        Map<String, String> env = LocalLauncher.rankEnvironment(1, 3, 40123);
        assertEquals(new WorkerEnvironment("shakenet", 1, 3, 1, "127.0.0.1", 40123, true, "/worker/attempt_0"), worker(env, DEFAULTS));
        assertTrue(worker(env, DEFAULTS).underLocalLauncher(), "its ranks leave the rank prefix of their lines to the launcher");
    }

    @Test
    void slurmPrefersTheStepsTaskCount() {
        Map<String, String> env = new HashMap<>(Map.of("SLURM_PROCID", "5", "SLURM_NTASKS", "4", "SLURM_STEP_NUM_TASKS", "8",
                "SLURM_LOCALID", "1", "MASTER_ADDR", "gpu-node-01"));
        WorkerEnvironment w = worker(env, DEFAULTS);
        assertEquals(new WorkerEnvironment("slurm", 5, 8, 1, "gpu-node-01", DEFAULTS.masterPort(), false, null), w);
        env.remove("SLURM_STEP_NUM_TASKS");
        assertTrue(problem(env, DEFAULTS).startsWith("SLURM_PROCID=5 is outside 0..3"), "SLURM_NTASKS=4 now bounds the rank");
        env.put("SLURM_PROCID", "3");
        assertEquals(4, worker(env, DEFAULTS).worldSize());
    }

    @Test
    void slurmsMasterComesFromMasterAddrOrTheConfig() {
        Map<String, String> env = new HashMap<>(Map.of("SLURM_PROCID", "0", "SLURM_NTASKS", "2"));
        String missing = problem(env, DEFAULTS);
        assertTrue(missing.contains("export MASTER_ADDR=") && missing.contains("distributed.master_addr"), missing);
        WorkerEnvironment configured = worker(env, WITH_MASTER);
        assertEquals("node-0", configured.masterAddr());
        assertEquals(29600, configured.masterPort());
        env.put("MASTER_ADDR", "gpu-node-02");
        env.put("MASTER_PORT", "29555");
        WorkerEnvironment exported = worker(env, WITH_MASTER);
        assertEquals("gpu-node-02", exported.masterAddr(), "MASTER_ADDR wins over the config");
        assertEquals(29555, exported.masterPort());
    }

    @Test
    void aWorldOfOneOrNoLauncherIsASingleProcessRun() {
        assertEquals(Optional.empty(), WorkerEnvironment.of(Map.of(), DEFAULTS));
        assertEquals(Optional.empty(), WorkerEnvironment.of(Map.of("PATH", "/usr/bin", "LOCAL_RANK", "0"), DEFAULTS));
        assertEquals(Optional.empty(), WorkerEnvironment.of(torchrun(0, 1), DEFAULTS));
        assertEquals(Optional.empty(), WorkerEnvironment.of(Map.of("SLURM_PROCID", "0", "SLURM_NTASKS", "1"), DEFAULTS));
        assertEquals(Optional.empty(), WorkerEnvironment.of(Map.of("SLURM_PROCID", "0"), DEFAULTS), "no task count: not a Slurm step");
    }

    @Test
    void badValuesNameTheVariable() {
        Map<String, String> outside = torchrun(2, 2);
        assertTrue(problem(outside, DEFAULTS).startsWith("RANK=2 is outside 0..1 (world size 2)"), problem(outside, DEFAULTS));

        Map<String, String> notANumber = torchrun(0, 2);
        notANumber.put("WORLD_SIZE", "two");
        assertEquals("WORLD_SIZE=\"two\" is not an integer", problem(notANumber, DEFAULTS));
        Map<String, String> badLocal = torchrun(0, 2);
        badLocal.put("LOCAL_RANK", "-1");
        assertTrue(problem(badLocal, DEFAULTS).startsWith("LOCAL_RANK=-1"), problem(badLocal, DEFAULTS));
        Map<String, String> badRestart = torchrun(0, 2);
        badRestart.put("TORCHELASTIC_USE_AGENT_STORE", "True");
        badRestart.put("TORCHELASTIC_RESTART_COUNT", "x");
        assertTrue(problem(badRestart, DEFAULTS).startsWith("TORCHELASTIC_RESTART_COUNT=\"x\""), problem(badRestart, DEFAULTS));

        String rankAlone = problem(Map.of("RANK", "0"), DEFAULTS);
        assertTrue(rankAlone.startsWith("WORLD_SIZE") && rankAlone.contains("is not set"), rankAlone);
        String worldAlone = problem(Map.of("WORLD_SIZE", "2"), DEFAULTS);
        assertTrue(worldAlone.startsWith("RANK is not set"), worldAlone);
        assertTrue(problem(Map.of("RANK", "0", "WORLD_SIZE", "0"), DEFAULTS).startsWith("WORLD_SIZE=0 must be at least 1"));

        Map<String, String> badPort = torchrun(0, 2);
        badPort.put("MASTER_PORT", "70000");
        assertTrue(problem(badPort, DEFAULTS).startsWith("MASTER_PORT=70000 is not a TCP port"), problem(badPort, DEFAULTS));
        Map<String, String> emptyAddr = torchrun(0, 2);
        emptyAddr.put("MASTER_ADDR", " ");
        assertTrue(problem(emptyAddr, DEFAULTS).startsWith("MASTER_ADDR is empty"), problem(emptyAddr, DEFAULTS));

        String slurm = problem(Map.of("SLURM_PROCID", "one", "SLURM_NTASKS", "2", "MASTER_ADDR", "n0"), DEFAULTS);
        assertEquals("SLURM_PROCID=\"one\" is not an integer", slurm);
    }
}
