package dev.shakenet.torch;

import static dev.shakenet.torch.Native.check;
import static dev.shakenet.torch.ffi.shakenet_h.sn_cpu_sgd_step;
import static dev.shakenet.torch.ffi.shakenet_h.sn_sgd_step;
import static dev.shakenet.torch.ffi.shakenet_h.sn_unscale_grads;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;

/** In-place parameter updates done natively in one call for all parameters. */
public final class ParameterUpdates {
    static {
        NativeLibrary.ensureLoaded();
    }

    private ParameterUpdates() {}

    /**
     * Multiplies every gradient of {@code params} by {@code invScale} in place (loss scaling's
     * unscale); returns whether any gradient holds an inf or NaN. One device synchronisation.
     */
    public static boolean unscaleGradients(List<Tensor> params, double invScale) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment p = arena.allocate(ADDRESS, Math.max(params.size(), 1));
            for (int i = 0; i < params.size(); i++) p.setAtIndex(ADDRESS, i, params.get(i).handle());
            MemorySegment found = arena.allocate(JAVA_INT);
            check(sn_unscale_grads(p, params.size(), invScale, found));
            return found.get(JAVA_INT, 0) != 0;
        }
    }

    /**
     * One torch.optim.SGD step over {@code params} (those without a gradient are skipped).
     * {@code buffers} holds one momentum buffer per parameter (same shape, ignored when momentum
     * is 0); {@code bufferReady[i]} says whether buffer i holds momentum yet (false before a
     * parameter's first step, when PyTorch initializes it to the gradient) and is updated.
     * {@code onePass}: the CPU-kernels engine's update (one pass per float32 CPU parameter), else
     * PyTorch's multi-tensor ops.
     */
    public static void sgd(boolean onePass, List<Tensor> params, List<Tensor> buffers, boolean[] bufferReady, double lr, double momentum,
                           double dampening, double weightDecay, boolean nesterov) {
        int n = params.size();
        if (momentum != 0 && (buffers.size() != n || bufferReady.length != n)) {
            throw new IllegalArgumentException("need one momentum buffer per parameter: " + n + " parameters, "
                    + buffers.size() + " buffers, " + bufferReady.length + " flags");
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment p = arena.allocate(ADDRESS, Math.max(n, 1));
            MemorySegment b = arena.allocate(ADDRESS, Math.max(n, 1));
            MemorySegment ready = arena.allocate(JAVA_INT, Math.max(n, 1));
            for (int i = 0; i < n; i++) {
                p.setAtIndex(ADDRESS, i, params.get(i).handle());
                if (momentum != 0) {
                    b.setAtIndex(ADDRESS, i, buffers.get(i).handle());
                    ready.setAtIndex(JAVA_INT, i, bufferReady[i] ? 1 : 0);
                }
            }
            check(onePass ? sn_cpu_sgd_step(p, b, ready, n, lr, momentum, dampening, weightDecay, nesterov ? 1 : 0)
                    : sn_sgd_step(p, b, ready, n, lr, momentum, dampening, weightDecay, nesterov ? 1 : 0));
            if (momentum != 0) {
                for (int i = 0; i < n; i++) bufferReady[i] = ready.getAtIndex(JAVA_INT, i) != 0;
            }
        }
    }
}
