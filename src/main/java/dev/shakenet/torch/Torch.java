package dev.shakenet.torch;

import static dev.shakenet.torch.Native.check;
import static dev.shakenet.torch.ffi.shakenet_h.*;
import static java.lang.foreign.ValueLayout.ADDRESS;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The runtime: what libtorch can use here, the global seed, threads and this thread's grad mode. */
public final class Torch {
    static {
        NativeLibrary.ensureLoaded();
    }

    private Torch() {}

    /** What the loaded library can use; see {@link #runtimeInfo()}. */
    public record RuntimeInfo(String libraryPath, String torchVersion, int threads, boolean mkldnn, boolean cudnn,
                              List<String> cudaDevices, List<String> distributedBackends) {
        /** A human-readable report, one fact a line. */
        public String report() {
            StringBuilder s = new StringBuilder();
            s.append("libshakenet: ").append(libraryPath).append('\n');
            s.append("libtorch:    ").append(torchVersion).append('\n');
            s.append("CPU threads: ").append(threads).append('\n');
            s.append("MKL-DNN:     ").append(mkldnn ? "yes" : "no").append('\n');
            s.append("CUDA devices: ").append(cudaDevices.size()).append('\n');
            for (int i = 0; i < cudaDevices.size(); i++) s.append("  cuda:").append(i).append("  ").append(cudaDevices.get(i)).append('\n');
            s.append("cuDNN:       ").append(cudnn ? "yes" : "no").append('\n');
            s.append("distributed: ").append(distributedBackends.isEmpty() ? "none (built without Gloo's headers: libgloo-dev)"
                    : String.join(", ", distributedBackends)).append('\n');
            return s.toString();
        }
    }

    public static RuntimeInfo runtimeInfo() {
        List<String> devices = new ArrayList<>();
        int count = cudaDeviceCount();
        for (int i = 0; i < count; i++) devices.add(cudaDeviceName(i));
        return new RuntimeInfo(NativeLibrary.path().toString(), version(), numThreads(), hasMkldnn(), hasCudnn(), List.copyOf(devices),
                ProcessGroup.backends().stream().map(ProcessGroup.Backend::lower).toList());
    }

    public static String version() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            check(sn_torch_version(out));
            return out.get(ADDRESS, 0).reinterpret(256).getString(0);
        }
    }

    public static int cudaDeviceCount() {
        return Native.readInt((arena, out) -> sn_cuda_device_count(out));
    }

    public static String cudaDeviceName(int index) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buf = arena.allocate(256);
            check(sn_cuda_device_name(index, buf, buf.byteSize()));
            return buf.getString(0);
        }
    }

    public static boolean hasCudnn() {
        return Native.readInt((arena, out) -> sn_has_cudnn(out)) != 0;
    }

    public static boolean hasMkldnn() {
        return Native.readInt((arena, out) -> sn_has_mkldnn(out)) != 0;
    }

    public static int numThreads() {
        return Native.readInt((arena, out) -> sn_get_num_threads(out));
    }

    /** Sets libtorch's intra-op thread count (process-wide). */
    public static void setNumThreads(int threads) {
        check(sn_set_num_threads(threads));
    }

    /** Waits until {@code device} has finished the work queued on it (for timing); nothing to wait for on the CPU. */
    public static void synchronize(Device device) {
        check(sn_synchronize(device.typeCode(), device.index()));
    }

    /** Bytes held now and at peak by libtorch's CUDA allocator on device {@code index}: {current, peak}. */
    public static long[] cudaMemory(int index) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment current = arena.allocate(java.lang.foreign.ValueLayout.JAVA_LONG);
            MemorySegment peak = arena.allocate(java.lang.foreign.ValueLayout.JAVA_LONG);
            check(sn_cuda_memory(index, current, peak));
            return new long[] {current.get(java.lang.foreign.ValueLayout.JAVA_LONG, 0), peak.get(java.lang.foreign.ValueLayout.JAVA_LONG, 0)};
        }
    }

    public static void resetCudaPeakMemory(int index) {
        check(sn_cuda_reset_peak_memory(index));
    }

    /** Seeds libtorch's default generators on every device. */
    public static void manualSeed(long seed) {
        check(sn_manual_seed(seed));
    }

    /** Starts libtorch's profiler on this thread; a TorchException where this libtorch has none (the shim's is for 1.x). */
    public static void startProfiler() {
        check(sn_profiler_start());
    }

    /** Stops it and writes every op run since the start, with its calls, total and self microseconds, to {@code json} as a JSON array. */
    public static void stopProfiler(Path json) {
        try (Arena arena = Arena.ofConfined()) {
            check(sn_profiler_stop(arena.allocateFrom(json.toString())));
        }
    }

    public static boolean isGradEnabled() {
        return Native.readInt((arena, out) -> sn_is_grad_enabled(out)) != 0;
    }

    /**
     * Turns autograd recording off on this thread until the returned guard closes, which
     * restores the previous mode: {@code try (var g = Torch.noGrad()) { ... }}.
     */
    public static GradMode noGrad() {
        boolean previous = Native.readInt((arena, out) -> sn_set_grad_enabled(0, out)) != 0;
        return new GradMode(previous);
    }

    /** Restores this thread's previous grad mode when closed. */
    public static final class GradMode implements AutoCloseable {
        private final boolean previous;
        private final Thread thread = Thread.currentThread();
        private boolean closed;

        private GradMode(boolean previous) {
            this.previous = previous;
        }

        @Override
        public void close() {
            if (closed) return;
            if (Thread.currentThread() != thread) throw new IllegalStateException("grad mode is per thread: close it on " + thread.getName());
            closed = true;
            check(sn_set_grad_enabled(previous ? 1 : 0, MemorySegment.NULL));
        }
    }
}
