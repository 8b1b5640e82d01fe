package dev.shakenet.torch;

import org.junit.jupiter.api.Assumptions;

/** The one rule by which CUDA tests skip: no device visible to this libtorch, said with its version. */
public final class Cuda {
    private Cuda() {}

    public static void assumeAvailable() {
        Assumptions.assumeTrue(Torch.cudaDeviceCount() > 0,
                "no CUDA device visible to libtorch " + Torch.version() + " (CPU-only build or no GPU): CUDA test skipped");
    }
}
