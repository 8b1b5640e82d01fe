package dev.shakenet.torch;

import static dev.shakenet.torch.Native.check;
import static dev.shakenet.torch.ffi.shakenet_h.*;

import dev.shakenet.torch.ffi.sn_cpu_memory_stats;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Which allocator serves CPU tensors, and what it holds. The caching allocator (the shim's
 * cpu_allocator.cpp) keeps freed blocks of 256 KiB and more for the next request of the same
 * size: a training loop's peak resident memory then stays at what it holds live, where glibc's
 * malloc (libtorch's default) fragments its heap. Process-wide; switch before building a model.
 */
public final class CpuMemory {
    static {
        NativeLibrary.ensureLoaded();
    }

    private CpuMemory() {}

    /** Bytes counted by the caching allocator (zero while libtorch's default serves). */
    public record Stats(long liveBytes, long peakLiveBytes, long mappedBytes, long peakMappedBytes, long idleBytes,
                        long releasedBytes, long hits, long misses) {}

    /** Installs the caching allocator, or puts libtorch's default back. Tensors made before stay valid. */
    public static void useCachingAllocator(boolean caching) {
        check(sn_cpu_allocator_use_caching(caching ? 1 : 0));
    }

    public static boolean isCaching() {
        return Native.readInt((arena, out) -> sn_cpu_allocator_is_caching(out)) != 0;
    }

    public static Stats stats() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = arena.allocate(sn_cpu_memory_stats.layout());
            check(sn_cpu_memory(s));
            return new Stats(sn_cpu_memory_stats.live_bytes(s), sn_cpu_memory_stats.peak_live_bytes(s),
                    sn_cpu_memory_stats.mapped_bytes(s), sn_cpu_memory_stats.peak_mapped_bytes(s),
                    sn_cpu_memory_stats.idle_bytes(s), sn_cpu_memory_stats.released_bytes(s),
                    sn_cpu_memory_stats.hits(s), sn_cpu_memory_stats.misses(s));
        }
    }

    /** Starts the peaks again from what is held now. */
    public static void resetPeak() {
        check(sn_cpu_memory_reset_peak());
    }

    /** Gives every idle cached block back to the operating system. */
    public static void releaseIdle() {
        check(sn_cpu_memory_release_idle());
    }
}
