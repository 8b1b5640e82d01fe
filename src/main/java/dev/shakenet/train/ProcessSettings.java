package dev.shakenet.train;

import dev.shakenet.torch.CpuConvolution;
import dev.shakenet.torch.CpuMemory;
import dev.shakenet.torch.Torch;
import dev.shakenet.torch.TorchException;

/**
 * The process-wide libtorch settings a run config asks for: CPU threads, the CPU allocator and
 * the CPU convolution algorithm.
 */
final class ProcessSettings {
    private ProcessSettings() {}

    /** Applies them; call before the model's tensors are made. */
    static void apply(RunConfig config) {
        Torch.setNumThreads(config.threads() > 0 ? config.threads() : Runtime.getRuntime().availableProcessors());
        CpuMemory.useCachingAllocator(config.cpuAllocator() == RunConfig.CpuAllocator.CACHING);
        boolean winograd = switch (config.cpuConvAlgorithm()) {
            case AUTO -> CpuConvolution.winogradAvailable();
            case WINOGRAD -> true;
            case DIRECT -> false;
        };
        try {
            CpuConvolution.useWinograd(winograd);
        } catch (TorchException e) {
            throw new ConfigException("cpu_conv_algorithm \"winograd\" is not available: " + e.getMessage());
        }
    }
}
