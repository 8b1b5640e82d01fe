package dev.shakenet.train;

import dev.shakenet.torch.CpuConvolution;
import dev.shakenet.torch.CpuMemory;
import dev.shakenet.torch.Torch;

/**
 * The process-wide libtorch settings a run config asks for: CPU threads, the CPU allocator and
 * the CPU convolution algorithm.
 */
public final class ProcessSettings {
    private ProcessSettings() {}

    /** Applies them (checked when the run was resolved); call before the model's tensors are made. */
    static void apply(ResolvedRun run) {
        RunConfig config = run.config();
        Torch.setNumThreads(config.threads() > 0 ? config.threads() : Runtime.getRuntime().availableProcessors());
        CpuMemory.useCachingAllocator(config.cpuAllocator() == RunConfig.CpuAllocator.CACHING);
        CpuConvolution.useWinograd(switch (config.cpuConvAlgorithm()) {
            case AUTO -> CpuConvolution.winogradAvailable();
            case WINOGRAD -> true;
            case DIRECT -> false;
        });
    }

    /** Fails, before any work starts (no run folder yet), on a setting this build cannot honour. */
    static void check(RunConfig config) {
        if (config.cpuConvAlgorithm() == RunConfig.CpuConvAlgorithm.WINOGRAD && !CpuConvolution.winogradAvailable()) {
            throw new ConfigException("cpu_conv_algorithm \"winograd\": this libshakenet has no Winograd convolutions "
                    + "(built without oneDNN's headers, or another oneDNN is loaded): install libdnnl-dev and rebuild native/ "
                    + "(bin/setup does both), or use \"auto\" or \"direct\"");
        }
    }
}
