package dev.shakenet.distributed;

import dev.shakenet.train.ConfigException;
import dev.shakenet.train.RunConfig;
import java.util.Map;
import java.util.Optional;

/**
 * What the environment says about this process's place in a data-parallel run: the variables
 * torchrun (and ShakeNet's own --nproc-per-node launcher) set, or Slurm's. One contract:
 * <ul>
 *   <li>RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT: torchrun and any launcher like it.
 *       With TORCHELASTIC_USE_AGENT_STORE=True the launcher hosts the store at MASTER_ADDR:MASTER_PORT
 *       and every rank joins it as a client under /worker/attempt_&lt;TORCHELASTIC_RESTART_COUNT&gt;;
 *       otherwise rank 0 hosts it there.</li>
 *   <li>SLURM_PROCID, SLURM_NTASKS (SLURM_STEP_NUM_TASKS under srun), SLURM_LOCALID: srun; the
 *       master address comes from MASTER_ADDR or the config's distributed.master_addr, the port
 *       from MASTER_PORT or distributed.master_port, and rank 0 hosts the store.</li>
 * </ul>
 * Neither (or a world of one): a single-process run, as without any of this.
 */
public record WorkerEnvironment(String launcher, int rank, int worldSize, int localRank, String masterAddr, int masterPort,
                                boolean agentStore, String storePrefix) {

    /** Set by ShakeNet's own launcher (train --nproc-per-node) for its ranks, to its name. */
    public static final String LAUNCHER_VARIABLE = "SHAKENET_LAUNCHER";
    /** {@link #launcher()} for a rank of train --nproc-per-node. */
    public static final String LOCAL_LAUNCHER = "shakenet";

    /** The store prefix torchrun's own workers use, for restart {@code attempt}. */
    public static String agentPrefix(int attempt) {
        return "/worker/attempt_" + attempt;
    }

    /** Whether ShakeNet's own launcher started this rank (it prefixes every output line with the rank). */
    public boolean underLocalLauncher() {
        return LOCAL_LAUNCHER.equals(launcher);
    }

    /** How to start the run again the way it was started, for messages: "train --resume X" plus this. */
    public String relaunchHint() {
        return underLocalLauncher() ? " --nproc-per-node " + worldSize : " (under " + launcher + ", as the run was started)";
    }

    /** Rank 0: the one that writes the run's files. */
    public boolean isLeader() {
        return rank == 0;
    }

    /** This process's place in a run of several, or empty when it runs alone. */
    public static Optional<WorkerEnvironment> of(Map<String, String> env, RunConfig.Distributed config) {
        if (env.containsKey("RANK") || env.containsKey("WORLD_SIZE")) return fromTorchrun(env, config);
        if (env.containsKey("SLURM_PROCID") && (env.containsKey("SLURM_STEP_NUM_TASKS") || env.containsKey("SLURM_NTASKS"))) {
            return fromSlurm(env, config);
        }
        return Optional.empty();
    }

    /** From the process's own environment. */
    public static Optional<WorkerEnvironment> current(RunConfig.Distributed config) {
        return of(System.getenv(), config);
    }

    private static Optional<WorkerEnvironment> fromTorchrun(Map<String, String> env, RunConfig.Distributed config) {
        int world = positive(env, "WORLD_SIZE", "the number of processes in the run");
        int rank = rankIn(env, "RANK", world);
        if (world == 1) return Optional.empty();
        int local = env.containsKey("LOCAL_RANK") ? nonNegative(env, "LOCAL_RANK") : 0;
        boolean agent = "true".equalsIgnoreCase(env.getOrDefault("TORCHELASTIC_USE_AGENT_STORE", "false"));
        String prefix = agent ? agentPrefix(env.containsKey("TORCHELASTIC_RESTART_COUNT") ? nonNegative(env, "TORCHELASTIC_RESTART_COUNT") : 0) : null;
        String launcher = env.getOrDefault(LAUNCHER_VARIABLE, "torchrun");
        return Optional.of(new WorkerEnvironment(launcher, rank, world, local, address(env, config), port(env, config), agent, prefix));
    }

    private static Optional<WorkerEnvironment> fromSlurm(Map<String, String> env, RunConfig.Distributed config) {
        String tasksKey = env.containsKey("SLURM_STEP_NUM_TASKS") ? "SLURM_STEP_NUM_TASKS" : "SLURM_NTASKS";
        int world = positive(env, tasksKey, "the number of tasks");
        int rank = rankIn(env, "SLURM_PROCID", world);
        if (world == 1) return Optional.empty();
        int local = env.containsKey("SLURM_LOCALID") ? nonNegative(env, "SLURM_LOCALID") : 0;
        if (!env.containsKey("MASTER_ADDR") && config.masterAddr() == null) {
            throw new ConfigException("Slurm runs " + world + " tasks but no master address is set: export MASTER_ADDR=<the first node's host "
                    + "name> (e.g. $(scontrol show hostnames \"$SLURM_JOB_NODELIST\" | head -n 1)) or set distributed.master_addr");
        }
        return Optional.of(new WorkerEnvironment("slurm", rank, world, local, address(env, config), port(env, config), false, null));
    }

    private static String address(Map<String, String> env, RunConfig.Distributed config) {
        String addr = env.getOrDefault("MASTER_ADDR", config.masterAddr() != null ? config.masterAddr() : "127.0.0.1");
        if (addr.isBlank()) throw new ConfigException("MASTER_ADDR is empty: set it to rank 0's host name or address");
        return addr;
    }

    private static int port(Map<String, String> env, RunConfig.Distributed config) {
        if (!env.containsKey("MASTER_PORT")) return config.masterPort();
        int port = integer(env, "MASTER_PORT");
        if (port < 1 || port > 65535) throw new ConfigException("MASTER_PORT=" + env.get("MASTER_PORT") + " is not a TCP port (1..65535)");
        return port;
    }

    private static int rankIn(Map<String, String> env, String key, int world) {
        if (!env.containsKey(key)) throw new ConfigException(key + " is not set, but the world size is: a launcher sets both (torchrun does)");
        int rank = integer(env, key);
        if (rank < 0 || rank >= world) throw new ConfigException(key + "=" + rank + " is outside 0.." + (world - 1) + " (world size " + world + ")");
        return rank;
    }

    private static int positive(Map<String, String> env, String key, String what) {
        if (!env.containsKey(key)) throw new ConfigException(key + " (" + what + ") is not set, but the rank is: a launcher sets both (torchrun does)");
        int v = integer(env, key);
        if (v < 1) throw new ConfigException(key + "=" + v + " must be at least 1 (" + what + ")");
        return v;
    }

    private static int nonNegative(Map<String, String> env, String key) {
        int v = integer(env, key);
        if (v < 0) throw new ConfigException(key + "=" + v + " must be 0 or more");
        return v;
    }

    private static int integer(Map<String, String> env, String key) {
        String value = env.get(key).trim();
        try {
            return Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw new ConfigException(key + "=\"" + value + "\" is not an integer");
        }
    }
}
