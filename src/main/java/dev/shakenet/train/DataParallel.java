package dev.shakenet.train;

import dev.shakenet.distributed.WorkerEnvironment;
import dev.shakenet.torch.DType;
import dev.shakenet.torch.Device;
import dev.shakenet.torch.ProcessGroup;
import dev.shakenet.torch.Store;
import dev.shakenet.torch.Tensor;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Set;

/**
 * This process's part in data-parallel training, or the single-process case where every call is
 * a no-op: the rendezvous (a c10d store and a Gloo or NCCL process group), and the collectives
 * the trainer uses. Gradients are averaged after backward in flat buckets, parameters and
 * buffers copied from rank 0, epoch figures and the test evaluation's counts summed.
 */
public final class DataParallel implements AutoCloseable {
    private static final DataParallel SINGLE = new DataParallel(null, null, null, 0, Device.CPU);

    private final WorkerEnvironment env; // null: single process
    private final Store store;
    private final ProcessGroup group;
    private final long bucketBytes;
    private final Device device;

    private DataParallel(WorkerEnvironment env, Store store, ProcessGroup group, long bucketBytes, Device device) {
        this.env = env;
        this.store = store;
        this.group = group;
        this.bucketBytes = bucketBytes;
        this.device = device;
    }

    /** One process training alone. */
    public static DataParallel single() {
        return SINGLE;
    }

    /**
     * Joins the run {@code env} describes, training on {@code device}: the store (the launcher's
     * agent store, or rank 0's), then the process group. Fails within the config's timeout when
     * the other ranks do not come.
     */
    public static DataParallel join(WorkerEnvironment env, RunConfig.Distributed config, Device device) {
        ProcessGroup.Backend backend = backend(config.backend(), device);
        Duration timeout = Duration.ofMillis(Math.round(config.timeoutSeconds() * 1000));
        Store store = env.agentStore() || !env.isLeader() ? Store.connectTcp(env.masterAddr(), env.masterPort(), timeout)
                : Store.hostTcp(env.masterAddr(), env.masterPort(), timeout);
        try {
            ProcessGroup group = ProcessGroup.join(store, env.storePrefix(), backend, env.rank(), env.worldSize(), timeout,
                    isLoopback(env.masterAddr()) ? "127.0.0.1" : null);
            return new DataParallel(env, store, group, Math.max(1, Math.round(config.bucketMb() * (1 << 20))), device);
        } catch (dev.shakenet.torch.TorchException e) {
            store.close();
            if (env.launcher().equals("slurm") && e.getMessage().contains("did not join")) {
                throw new dev.shakenet.torch.TorchException(e.kind(), e.getMessage() + ". Under Slurm every rank is an srun task: "
                        + "bin/shakenet run directly in a batch script is one process, however many tasks the job has");
            }
            throw e;
        } catch (RuntimeException e) {
            store.close();
            throw e;
        }
    }

    /** The backend the config asks for on {@code device}, or a ConfigException saying why it cannot be had. */
    static ProcessGroup.Backend backend(RunConfig.Backend asked, Device device) {
        Set<ProcessGroup.Backend> built = ProcessGroup.backends();
        if (built.isEmpty()) {
            throw new ConfigException("this libshakenet was built without distributed training (c10d's Gloo): install libgloo-dev and "
                    + "run bin/setup again");
        }
        return switch (asked) {
            case AUTO -> device.isCuda() && built.contains(ProcessGroup.Backend.NCCL) ? ProcessGroup.Backend.NCCL : ProcessGroup.Backend.GLOO;
            case GLOO -> ProcessGroup.Backend.GLOO;
            case NCCL -> {
                if (!device.isCuda()) throw new ConfigException("distributed.backend: nccl needs a CUDA device (this run is on " + device + "); use gloo or auto");
                if (!built.contains(ProcessGroup.Backend.NCCL)) {
                    throw new ConfigException("distributed.backend: nccl, but this libshakenet was built without NCCL (a CUDA libtorch with "
                            + "nccl.h at build time is needed); use gloo or auto");
                }
                yield ProcessGroup.Backend.NCCL;
            }
        };
    }

    private static boolean isLoopback(String host) {
        return host.equals("localhost") || host.startsWith("127.") || host.equals("::1");
    }

    /** Whether this process is one of several. */
    public boolean isDistributed() {
        return group != null;
    }

    public int rank() {
        return group == null ? 0 : group.rank();
    }

    public int worldSize() {
        return group == null ? 1 : group.worldSize();
    }

    /** Rank 0, the one process that writes the run's files. */
    public boolean isLeader() {
        return rank() == 0;
    }

    /** "gloo" or "nccl", or null alone. */
    public String backendName() {
        return group == null ? null : group.backend().lower();
    }

    /** Who launched this process ("torchrun", "slurm"), or null alone. */
    public String launcher() {
        return env == null ? null : env.launcher();
    }

    /** What follows "shakenet train --resume RUN" in advice, so that the run starts again as it was started ("" alone). */
    public String resumeHint() {
        return env == null ? "" : env.relaunchHint();
    }

    /** Replaces every parameter's gradient by its mean over the ranks. */
    public void averageGradients(List<Tensor> params) {
        if (group != null) group.averageGradients(params, bucketBytes);
    }

    /** Copies rank 0's {@code tensors} into every other rank's. */
    public void copyFromLeader(Collection<Tensor> tensors) {
        if (group != null) group.broadcast(List.copyOf(tensors), 0, bucketBytes);
    }

    /** The element-wise sum of every rank's {@code values} (float64, exact for counts below 2^53). */
    public double[] sum(double[] values) {
        if (group == null) return values.clone();
        try (Tensor host = Tensor.fromDoubles(values, values.length); Tensor t = host.to(device)) {
            group.allreduceSum(List.of(t), bucketBytes);
            return t.toDoubleArray();
        }
    }

    /** Whether any rank says {@code mine} is true (every rank must ask at the same point). */
    public boolean any(boolean mine) {
        return sum(new double[] {mine ? 1 : 0})[0] > 0;
    }

    /** Every rank's {@code bytes} (each rank's the same length), row r from rank r: a (world, n) uint8 tensor on the CPU. */
    public Tensor gather(byte[] bytes) {
        int world = worldSize(), n = bytes.length;
        byte[] table = new byte[world * n];
        System.arraycopy(bytes, 0, table, rank() * n, n);
        try (Tensor host = Tensor.fromBytes(table, world, n); Tensor t = host.to(device)) {
            if (group != null) group.allreduceSum(List.of(t), bucketBytes); // zeros elsewhere: the sum is the gather
            return t.to(Device.CPU);
        }
    }

    @Override
    public void close() {
        if (group != null) group.close();
        if (store != null) store.close();
    }
}
