package dev.shakenet.train;

import dev.shakenet.torch.CpuMemory;
import dev.shakenet.torch.Torch;

/** The process-wide libtorch settings a run config asks for: CPU threads and the CPU allocator. */
final class ProcessSettings {
    private ProcessSettings() {}

    /** Applies them; call before the model's tensors are made. */
    static void apply(RunConfig config) {
        Torch.setNumThreads(config.threads() > 0 ? config.threads() : Runtime.getRuntime().availableProcessors());
        CpuMemory.useCachingAllocator(config.cpuAllocator() == RunConfig.CpuAllocator.CACHING);
    }
}
