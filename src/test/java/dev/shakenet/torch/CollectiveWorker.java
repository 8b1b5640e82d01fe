package dev.shakenet.torch;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;

/**
 * One rank of a {@link CollectivesTest} run, started as its own JVM. Arguments: scenario, rank,
 * world size, host, port, timeout in seconds, store ("host": this rank hosts the TCPStore on
 * {@code port}, 0 for a free one, and prints {@code port=N}; "client": it reaches the store at
 * {@code port}; "file:PATH": a FileStore at PATH) and the group's prefix ("-" for none).
 *
 * <p>Results go to stdout as {@code label=v1,v2,...} lines; a failure as {@code error=message}
 * with exit status 3. Rank r contributes its inputs times 10^r, so the test can tell a sum
 * (11x over two ranks) from either rank's own values (1x, 10x) by hand.
 */
public final class CollectiveWorker {
    static final int FAILED = 3;

    private CollectiveWorker() {}

    public static void main(String[] args) {
        String scenario = args[0];
        int rank = Integer.parseInt(args[1]);
        int world = Integer.parseInt(args[2]);
        String host = args[3];
        int port = Integer.parseInt(args[4]);
        Duration timeout = Duration.ofMillis((long) (Double.parseDouble(args[5]) * 1000));
        boolean hostStore = args[6].equals("host");
        java.nio.file.Path storeFile = args[6].startsWith("file:") ? java.nio.file.Path.of(args[6].substring(5)) : null;
        String prefix = args[7].equals("-") ? null : args[7];
        Torch.setNumThreads(1); // two ranks share a 2-core machine
        long start = System.nanoTime();
        int status = 0;
        try (Store store = storeFile != null ? Store.file(storeFile, world, timeout)
                : hostStore ? Store.hostTcp(host, port, timeout) : Store.connectTcp(host, port, timeout)) {
            if (hostStore) print("port", String.valueOf(store.port()));
            long joinStart = System.nanoTime();
            try (ProcessGroup group = ProcessGroup.join(store, prefix, ProcessGroup.Backend.GLOO, rank, world, timeout, host)) {
                print("joined", String.valueOf(millisSince(joinStart)));
                switch (scenario) {
                    case "collectives" -> collectives(group);
                    case "barrier" -> barrier(group);
                    case "join" -> group.barrier();
                    case "loop" -> loop(group);
                    default -> throw new IllegalArgumentException("unknown scenario " + scenario);
                }
            }
            print("done", "ok");
        } catch (TorchException e) {
            print("error", e.getMessage());
            status = FAILED;
        } catch (RuntimeException | Error e) {
            print("unexpected", e.toString());
            status = 4;
        }
        print("elapsed_ms", String.valueOf(millisSince(start)));
        System.exit(status);
    }

    // ---- scenarios --------------------------------------------------------------------------

    /** The inputs of every allreduce: mixed dtypes, including a non-contiguous view. */
    private record Inputs(List<Tensor> list, Tensor dBase) {}

    private static Inputs inputs(int rank) {
        double s = Math.pow(10, rank);
        long big = 1L << 58; // int64 sums beyond float64's 53-bit mantissa stay exact only if int64 travels as int64
        Tensor a = Tensor.fromFloats(new float[] {1, 2, 3, 4}, 4).mul(s); // f32, 16 B
        Tensor b = Tensor.fromDoubles(new double[] {0.5, 6, 7}, 3).mul(s); // f64, 24 B
        Tensor c = Tensor.fromLongs(new long[] {(big + 8) * (rank == 0 ? 1 : 10), 9 * (long) s}, 2); // i64, 16 B
        // d: a transposed 3x2 view (strides 1, 3) of a 2x3 tensor, f32, 24 B
        Tensor dBase = Tensor.fromFloats(new float[] {10, 11, 12, 13, 14, 15}, 2, 3).mul(s);
        Tensor d = dBase.asStrided(new long[] {3, 2}, new long[] {1, 3}, 0);
        Tensor e = Tensor.fromFloats(new float[] {16, 17}, 2).mul(s).to(DType.FLOAT16); // f16, 4 B
        Tensor f = Tensor.fromFloats(new float[] {1, 2, 3, 4, 5, 6, 7, 8}, 8).mul(s); // f32, 32 B
        Tensor g = Tensor.fromLongs(new long[] {20 * (long) s}, 1); // i64, 8 B
        Tensor h = Tensor.fromFloats(new float[] {3, 5}, 2).mul(s).to(DType.FLOAT16); // f16, 4 B
        // bf16, 4 B: Gloo has no bfloat16 reduction, so the shim sends it as float32 and converts back
        Tensor i = Tensor.fromFloats(new float[] {2, 3}, 2).mul(s).to(DType.BFLOAT16);
        return new Inputs(List.of(a, b, c, d, e, f, g, h, i), dBase);
    }

    private static final String NAMES = "abcdefghi";

    private static void collectives(ProcessGroup group) {
        int rank = group.rank();
        // 1 MiB: one bucket per dtype; 40 B: the f32 bucket closes after a and d (16 + 24), f
        // goes alone, c and g share one; 8 B: every tensor travels alone but the two f16 ones
        // (4 + 4), a, b, c, d and f being larger than the bucket; 1 B: every tensor alone.
        for (long bucket : new long[] {1 << 20, 40, 8, 1}) {
            try (TensorScope scope = TensorScope.open()) {
                Inputs in = inputs(rank);
                print("contiguous.d", String.valueOf(in.list.get(3).isContiguous(MemoryFormat.CONTIGUOUS)));
                group.allreduceSum(in.list, bucket);
                for (int i = 0; i < in.list.size(); i++) print("sum@" + bucket + "." + NAMES.charAt(i), values(in.list.get(i)));
                print("sum@" + bucket + ".dBase", values(in.dBase));
            }
        }
        averageGradients(group);
        broadcast(group);
        group.barrier();
        print("barrier", "ok");
    }

    /** Gradients rank-scaled by 10^r: p1 (f32) and p2 (f64) get one, p3 requires grad but gets none, p4 requires none. */
    private static void averageGradients(ProcessGroup group) {
        double s = Math.pow(10, group.rank());
        for (long bucket : new long[] {1 << 20, 8}) {
            try (TensorScope scope = TensorScope.open()) {
                Tensor p1 = Tensor.fromFloats(new float[] {7, 8, 9}, 3).requiresGrad(true);
                Tensor p2 = Tensor.fromDoubles(new double[] {1, 1}, 2).requiresGrad(true);
                Tensor p3 = Tensor.fromFloats(new float[] {1, 2}, 2).requiresGrad(true);
                Tensor p4 = Tensor.fromFloats(new float[] {3, 4}, 2);
                // d(sum(p * c))/dp = c
                p1.mul(Tensor.fromFloats(new float[] {1, 2, 3}, 3).mul(s)).sum().backward();
                p2.mul(Tensor.fromDoubles(new double[] {4, 5}, 2).mul(s)).sum().backward();
                group.averageGradients(List.of(p1, p2, p3, p4), bucket);
                print("mean@" + bucket + ".p1", values(p1.grad()));
                print("mean@" + bucket + ".p2", values(p2.grad()));
                print("mean@" + bucket + ".p3", p3.grad() == null ? "none" : values(p3.grad()));
                print("mean@" + bucket + ".p4", p4.grad() == null ? "none" : values(p4.grad()));
                print("mean@" + bucket + ".p1.data", values(p1));
            }
        }
    }

    /** Rank r holds base + 100 r; after a broadcast from root every rank holds root's. */
    private static void broadcast(ProcessGroup group) {
        int r = group.rank();
        for (int root : new int[] {0, 1}) {
            for (long bucket : new long[] {1 << 20, 8}) {
                try (TensorScope scope = TensorScope.open()) {
                    Tensor x = Tensor.fromFloats(new float[] {1, 2, 3}, 3).add(100 * r);
                    Tensor y = Tensor.fromLongs(new long[] {4 + 100L * r, 5 + 100L * r}, 2);
                    Tensor zBase = Tensor.fromDoubles(new double[] {6, 7, 8, 9}, 2, 2).add(100 * r);
                    Tensor z = zBase.asStrided(new long[] {2, 2}, new long[] {1, 2}, 0); // transposed view
                    group.broadcast(List.of(x, y, z), root, bucket);
                    String label = "bcast" + root + "@" + bucket;
                    print(label + ".x", values(x));
                    print(label + ".y", values(y));
                    print(label + ".z", values(z));
                }
            }
        }
    }

    /** Rank 1 arrives 1.5 s late; rank 0 reports how long the barrier held it. Then one small allreduce. */
    private static void barrier(ProcessGroup group) {
        if (group.rank() == 1) sleep(1500);
        long start = System.nanoTime();
        group.barrier();
        print("barrier_ms", String.valueOf(millisSince(start)));
        try (TensorScope scope = TensorScope.open()) {
            Tensor t = Tensor.fromFloats(new float[] {1, 2}, 2).mul(Math.pow(10, group.rank()));
            group.allreduceSum(List.of(t), ProcessGroup.DEFAULT_BUCKET_BYTES);
            print("sum", values(t));
        }
    }

    /** Allreduces until one fails (the test kills the peer); prints how many succeeded. */
    private static void loop(ProcessGroup group) {
        long count = 0;
        try (TensorScope scope = TensorScope.open()) {
            Tensor t = Tensor.fromFloats(new float[1024], 1024);
            while (true) {
                try {
                    group.allreduceSum(List.of(t), 1024);
                } catch (TorchException e) {
                    print("allreduces", String.valueOf(count));
                    throw e;
                }
                if (++count == 20) print("looping", "ok"); // the test kills the peer after this
            }
        }
    }

    // ---- output -----------------------------------------------------------------------------

    private static String values(Tensor t) {
        if (t.dtype() == DType.INT64) return Arrays.stream(t.toLongArray()).mapToObj(Long::toString).collect(Collectors.joining(","));
        double[] v = t.to(DType.FLOAT64).toDoubleArray();
        List<String> out = new ArrayList<>();
        for (double x : v) out.add(Double.toString(x));
        return String.join(",", out);
    }

    static void print(String key, String value) {
        System.out.println(key + "=" + value.replace('\n', ' '));
        System.out.flush();
    }

    private static long millisSince(long start) {
        return (System.nanoTime() - start) / 1_000_000;
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
