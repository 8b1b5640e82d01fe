package dev.shakenet.torch;

import static dev.shakenet.torch.Native.check;
import static dev.shakenet.torch.ffi.shakenet_h.sn_allreduce;
import static dev.shakenet.torch.ffi.shakenet_h.sn_barrier;
import static dev.shakenet.torch.ffi.shakenet_h.sn_broadcast;
import static dev.shakenet.torch.ffi.shakenet_h.sn_distributed_backends;
import static dev.shakenet.torch.ffi.shakenet_h.sn_process_group_free;
import static dev.shakenet.torch.ffi.shakenet_h.sn_process_group_new;
import static java.lang.foreign.ValueLayout.ADDRESS;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * One rank's membership of a c10d process group (shakenet.h: sn_process_group_new) and the
 * collectives data-parallel training needs: bucketed allreduce (sum or mean) and broadcast of
 * tensor lists, and a barrier. Every call fails with a TorchException, never waits without end,
 * when a peer is gone or the group's timeout passes.
 */
public final class ProcessGroup implements AutoCloseable {
    static {
        NativeLibrary.ensureLoaded();
    }

    /** A collective backend; the library says which it was built with ({@link #backends()}). */
    public enum Backend {
        GLOO(0), NCCL(1);

        final int code;

        Backend(int code) {
            this.code = code;
        }

        public String lower() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** DistributedDataParallel's default bucket size. */
    public static final long DEFAULT_BUCKET_BYTES = 25L << 20;

    private MemorySegment handle;
    private final int rank;
    private final int worldSize;
    private final Backend backend;

    private ProcessGroup(MemorySegment handle, int rank, int worldSize, Backend backend) {
        this.handle = handle;
        this.rank = rank;
        this.worldSize = worldSize;
        this.backend = backend;
    }

    /** The backends this libshakenet was built with (empty: no distributed training). */
    public static Set<Backend> backends() {
        int bits = Native.readInt((arena, out) -> sn_distributed_backends(out));
        EnumSet<Backend> all = EnumSet.noneOf(Backend.class);
        for (Backend b : Backend.values()) if ((bits & (1 << b.code)) != 0) all.add(b);
        return all;
    }

    /**
     * Joins the group of {@code worldSize} ranks meeting in {@code store} under {@code prefix}
     * (null: none) as {@code rank}; {@code glooHost} (null: Gloo's default) is the address Gloo binds to.
     */
    public static ProcessGroup join(Store store, String prefix, Backend backend, int rank, int worldSize, Duration timeout,
                                    String glooHost) {
        MemorySegment h = Native.handle((arena, out) -> sn_process_group_new(store.handle(),
                prefix == null ? MemorySegment.NULL : arena.allocateFrom(prefix), backend.code, rank, worldSize, Store.seconds(timeout),
                glooHost == null ? MemorySegment.NULL : arena.allocateFrom(glooHost), out));
        return new ProcessGroup(h, rank, worldSize, backend);
    }

    public int rank() {
        return rank;
    }

    public int worldSize() {
        return worldSize;
    }

    public Backend backend() {
        return backend;
    }

    /** Sums {@code tensors} across ranks in place (every rank passes the same list). */
    public void allreduceSum(List<Tensor> tensors, long bucketBytes) {
        allreduce(tensors, false, false, bucketBytes);
    }

    /** Replaces the gradients of {@code params} with their mean over the ranks, in flat buckets of at most {@code bucketBytes}. */
    public void averageGradients(List<Tensor> params, long bucketBytes) {
        allreduce(params, true, true, bucketBytes);
    }

    private void allreduce(List<Tensor> tensors, boolean ofGrad, boolean average, long bucketBytes) {
        try (Arena arena = Arena.ofConfined()) {
            check(sn_allreduce(handle(), handles(arena, tensors), tensors.size(), ofGrad ? 1 : 0, average ? 1 : 0, bucketBytes));
        }
    }

    /** Copies rank {@code root}'s {@code tensors} into every other rank's, in place. */
    public void broadcast(List<Tensor> tensors, int root, long bucketBytes) {
        try (Arena arena = Arena.ofConfined()) {
            check(sn_broadcast(handle(), handles(arena, tensors), tensors.size(), root, bucketBytes));
        }
    }

    /** Returns when every rank has reached it. */
    public void barrier() {
        check(sn_barrier(handle()));
    }

    private static MemorySegment handles(Arena arena, List<Tensor> tensors) {
        MemorySegment all = arena.allocate(ADDRESS, Math.max(1, tensors.size()));
        for (int i = 0; i < tensors.size(); i++) all.setAtIndex(ADDRESS, i, tensors.get(i).handle());
        return all;
    }

    private MemorySegment handle() {
        if (handle == null) throw new IllegalStateException("the process group is closed");
        return handle;
    }

    @Override
    public void close() {
        if (handle == null) return;
        check(sn_process_group_free(handle));
        handle = null;
    }
}
