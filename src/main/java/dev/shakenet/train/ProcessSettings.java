package dev.shakenet.train;

import dev.shakenet.nn.Engine;
import dev.shakenet.torch.CpuKernels;
import dev.shakenet.torch.CpuMemory;
import dev.shakenet.torch.Device;
import dev.shakenet.torch.Torch;

/**
 * The process-wide libtorch settings a run config asks for (CPU threads, the CPU allocator), and
 * the engine its training step runs on.
 */
public final class ProcessSettings {
    private ProcessSettings() {}

    /** Applies them (checked when the run was resolved); call before the model's tensors are made. */
    static void apply(ResolvedRun run) {
        RunConfig config = run.config();
        Torch.setNumThreads(config.threads() > 0 ? config.threads() : Runtime.getRuntime().availableProcessors());
        // The caching allocator lives with the CPU kernels: without them, libtorch's default serves.
        CpuMemory.useCachingAllocator(config.cpuAllocator() == RunConfig.CpuAllocator.CACHING && CpuKernels.available());
    }

    /** The engine the config asks for on {@code device}; fails, before any work starts, on one this build or device cannot run. */
    static Engine engine(RunConfig config, Device device) {
        try {
            RunConfig.Family family = config.model().family();
            return Engine.choose(config.engine(), device, family == RunConfig.Family.SHAKE_RESNET ? null : family.name().toLowerCase());
        } catch (IllegalArgumentException e) {
            throw new ConfigException(e.getMessage());
        }
    }
}
