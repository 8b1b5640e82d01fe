package dev.shakenet.train;

import dev.shakenet.distributed.WorkerEnvironment;
import dev.shakenet.nn.Engine;
import dev.shakenet.torch.Device;

/**
 * A run config checked against this machine: its device resolved ("auto" becomes cpu or
 * cuda:0; a device that is not here, or fp16 off CUDA, refused) and its engine chosen (the CPU
 * kernels asked for on CUDA or where this build has none, refused). A command resolves its config once,
 * before any work, and hands this value to everything that runs it.
 */
public final class ResolvedRun {
    private final RunConfig config;
    private final Device device;
    private final Engine engine;
    private final int rank;
    private final int worldSize;

    private ResolvedRun(RunConfig config, Device device, Engine engine, int rank, int worldSize) {
        this.config = config;
        this.device = device;
        this.engine = engine;
        this.rank = rank;
        this.worldSize = worldSize;
    }

    /** Resolves {@code config} for one process training alone, or throws ConfigException naming what this machine cannot do. */
    public static ResolvedRun of(RunConfig config) {
        Device device = Devices.resolve(config);
        return new ResolvedRun(config, device, ProcessSettings.engine(config, device), 0, 1);
    }

    /**
     * Resolves {@code config} for rank {@code worker.rank()} of a data-parallel run: a CUDA
     * device left to choose ("auto", "cuda") becomes cuda:LOCAL_RANK, one GPU per local rank (or
     * the only GPU a worker sees); a device named in full (cuda:N, cpu) is kept, so several ranks
     * can share one GPU.
     */
    public static ResolvedRun of(RunConfig config, WorkerEnvironment worker) {
        Device device = Devices.resolve(config);
        if (device.isCuda() && ("auto".equals(config.device()) || "cuda".equals(config.device()))) {
            // a worker that sees one GPU (Slurm's --gpus-per-task=1, CUDA_VISIBLE_DEVICES) takes it
            int visible = dev.shakenet.torch.Torch.cudaDeviceCount();
            if (visible > 1 && worker.localRank() >= visible) {
                throw new ConfigException("local rank " + worker.localRank() + " has no GPU of its own: this machine shows " + visible
                        + " (cuda:0.." + (visible - 1) + "); start at most " + visible + " processes per machine, or name the device (device cuda:N)");
            }
            device = Devices.resolve("cuda:" + (visible == 1 ? 0 : worker.localRank()));
        }
        return new ResolvedRun(config, device, ProcessSettings.engine(config, device), worker.rank(), worker.worldSize());
    }

    public RunConfig config() {
        return config;
    }

    /** The device the run uses, never "auto". */
    public Device device() {
        return device;
    }

    /** This process's rank in a data-parallel run (0 alone). */
    public int rank() {
        return rank;
    }

    /** Processes in the run (1 alone). */
    public int worldSize() {
        return worldSize;
    }

    /** The engine the training step runs on, chosen once, here. */
    public Engine engine() {
        return engine;
    }
}
