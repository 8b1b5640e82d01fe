package dev.shakenet.torch;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * ProcessGroup and Store over Gloo on CPU: two ranks as real JVMs ({@link CollectiveWorker}) on
 * 127.0.0.1, one libtorch thread each. Results are checked against sums, means and broadcasts
 * worked out by hand here (rank r contributes its inputs times 10^r, so a sum over two ranks is
 * 11x the inputs); failures must end with a message naming the problem within the timeout.
 * Checks that need only one rank (a bad rank, no store, a missing peer) run in this JVM.
 */
@Timeout(value = 120, threadMode = Timeout.ThreadMode.SEPARATE_THREAD) // a hung native call cannot be interrupted
class CollectivesTest {
    private static final String HOST = "127.0.0.1";
    /** Headroom over a configured timeout for a JVM's start and exit on a loaded 2-core machine. */
    private static final long SLACK_S = 12;

    @TempDir
    Path tmp;

    private final List<Process> started = new ArrayList<>();

    // Not a finally in each test: a test thread stuck in a native call never reaches its finally,
    // while JUnit runs this after the timeout abandons that thread.
    @AfterEach
    void destroyWorkers() throws InterruptedException {
        for (Process p : started) {
            p.destroyForcibly(); // no worker outlives its test
            p.waitFor(10, TimeUnit.SECONDS);
        }
    }

    // ---- results -----------------------------------------------------------------------------

    @Test
    void allreduceAverageBroadcastAndBarrierGiveHandComputedValues() throws Exception {
        try (Store store = Store.hostTcp(HOST, 0, Duration.ofSeconds(30))) { // this JVM hosts; the workers reach it under a prefix
            Worker r0 = start("collectives", 0, 2, store.port(), 30, "client", "collectives");
            Worker r1 = start("collectives", 1, 2, store.port(), 30, "client", "collectives");
            for (Worker w : List.of(r0, r1)) {
                Map<String, String> out = w.finish(90, 0);
                // d is a transposed view: the collective must see and write back through its strides
                assertEquals("false", out.get("contiguous.d"), w.output());
                // 1 MiB: one bucket per dtype; 40 B: the f32 list splits after a and d; 8 and 1 B:
                // every tensor is larger than the bucket and travels alone (at 8 B the two f16 ones share one)
                for (long bucket : new long[] {1 << 20, 40, 8, 1}) {
                    String p = "sum@" + bucket + ".";
                    assertDoubles(out, p + "a", 11, 22, 33, 44);
                    assertDoubles(out, p + "b", 5.5, 66, 77);
                    // 11 * (2^58 + 8) is not a float64: exact only if int64 stays int64 on the wire
                    assertLongs(out, p + "c", 11 * (1L << 58) + 88, 99);
                    // the view's elements in its own (transposed) order, and the base it writes through
                    assertDoubles(out, p + "d", 110, 143, 121, 154, 132, 165);
                    assertDoubles(out, p + "dBase", 110, 121, 132, 143, 154, 165);
                    assertDoubles(out, p + "e", 176, 187); // float16
                    assertDoubles(out, p + "f", 11, 22, 33, 44, 55, 66, 77, 88);
                    assertLongs(out, p + "g", 220);
                    assertDoubles(out, p + "h", 33, 55); // float16, sharing e's bucket at 8 B
                    assertDoubles(out, p + "i", 22, 33); // bfloat16
                }
                // grads c * 10^r: their mean is c * 5.5; p3 (requires grad, got none) and p4 stay without
                for (long bucket : new long[] {1 << 20, 8}) {
                    String p = "mean@" + bucket + ".";
                    assertDoubles(out, p + "p1", 5.5, 11, 16.5);
                    assertDoubles(out, p + "p2", 22, 27.5);
                    assertEquals("none", out.get(p + "p3"), w.output());
                    assertEquals("none", out.get(p + "p4"), w.output());
                    assertDoubles(out, p + "p1.data", 7, 8, 9); // only the gradients change
                }
                // rank r holds base + 100 r; z is a transposed view of [[6, 7], [8, 9]] (+ 100 r)
                for (long bucket : new long[] {1 << 20, 8}) {
                    assertDoubles(out, "bcast0@" + bucket + ".x", 1, 2, 3);
                    assertLongs(out, "bcast0@" + bucket + ".y", 4, 5);
                    assertDoubles(out, "bcast0@" + bucket + ".z", 6, 8, 7, 9);
                    assertDoubles(out, "bcast1@" + bucket + ".x", 101, 102, 103);
                    assertLongs(out, "bcast1@" + bucket + ".y", 104, 105);
                    assertDoubles(out, "bcast1@" + bucket + ".z", 106, 108, 107, 109);
                }
                assertEquals("ok", out.get("barrier"), w.output());
            }
        }
    }

    @Test
    void rankZeroCanHostTheStoreAndTheBarrierWaitsForTheLateRank() throws Exception {
        Worker r0 = start("barrier", 0, 2, 0, 30, "host", "-");
        int port = Integer.parseInt(r0.await("port", 30)); // rank 0 hosts on a free port and says which
        Worker r1 = start("barrier", 1, 2, port, 30, "client", "-");
        Map<String, String> out0 = r0.finish(60, 0);
        Map<String, String> out1 = r1.finish(60, 0);
        // rank 1 reaches the barrier 1.5 s after joining: rank 0 waits for it there
        assertTrue(Long.parseLong(out0.get("barrier_ms")) >= 1000, r0.output());
        assertTrue(Long.parseLong(out1.get("barrier_ms")) < 1000, "the late rank does not wait: " + r1.output());
        assertDoubles(out0, "sum", 11, 22);
        assertDoubles(out1, "sum", 11, 22);
    }

    @Test
    void twoRanksMeetInAFileStoreOnASharedPath() throws Exception {
        String store = "file:" + tmp.resolve("rendezvous");
        Worker r0 = start("barrier", 0, 2, 0, 30, store, "-");
        Worker r1 = start("barrier", 1, 2, 0, 30, store, "-");
        assertDoubles(r0.finish(60, 0), "sum", 11, 22);
        assertDoubles(r1.finish(60, 0), "sum", 11, 22);
    }

    @Test
    void glooIsBuiltIn() {
        assertTrue(ProcessGroup.backends().contains(ProcessGroup.Backend.GLOO), ProcessGroup.backends().toString());
    }

    // ---- errors ------------------------------------------------------------------------------

    @Test
    void aRankOutsideTheWorldFailsAtOnce() {
        try (Store store = Store.hostTcp(HOST, 0, Duration.ofSeconds(3))) {
            long start = System.nanoTime();
            TorchException e = assertThrows(TorchException.class,
                    () -> ProcessGroup.join(store, null, ProcessGroup.Backend.GLOO, 2, 2, Duration.ofSeconds(3), HOST).close());
            assertTrue(e.getMessage().contains("rank 2 is outside 0..1"), e.getMessage());
            assertEquals(TorchException.Kind.INVALID_ARGUMENT, e.kind());
            assertTrue(seconds(start) < 1, "no waiting for a rank that cannot exist: " + seconds(start) + " s");
        }
    }

    /** On a GPU (gpu-check.sh selects it): CUDA tensors through Gloo, and through NCCL where this build has it; a world of one. */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.EnumSource(ProcessGroup.Backend.class)
    void cudaTensorsGoThroughEachBuiltBackend(ProcessGroup.Backend backend) {
        Cuda.assumeAvailable();
        org.junit.jupiter.api.Assumptions.assumeTrue(ProcessGroup.backends().contains(backend), backend + " is not in this build");
        Device gpu = Device.cuda(0);
        try (Store store = Store.hostTcp(HOST, 0, Duration.ofSeconds(20));
             ProcessGroup alone = ProcessGroup.join(store, "/cuda", backend, 0, 1, Duration.ofSeconds(20), HOST);
             TensorScope scope = TensorScope.open()) {
            Tensor a = Tensor.fromFloats(new float[] {1, 2, 3}, 3).to(gpu), b = Tensor.fromDoubles(new double[] {4, 5}, 2).to(gpu);
            alone.allreduceSum(List.of(a, b), 8); // a world of one: the sum is the tensor itself, bucket by bucket
            assertArrayEquals(new float[] {1, 2, 3}, a.toFloatArray());
            Tensor p = Tensor.fromFloats(new float[] {7, 8}, 2).to(gpu).requiresGrad(true);
            p.mul(Tensor.fromFloats(new float[] {2, 6}, 2).to(gpu)).sum().backward();
            alone.averageGradients(List.of(p), 1 << 20);
            assertArrayEquals(new float[] {2, 6}, p.grad().toFloatArray());
            alone.broadcast(List.of(b), 0, 1 << 20);
            alone.barrier();
            assertArrayEquals(new double[] {4, 5}, b.toDoubleArray());
        }
    }

    @Test
    void aBoolTensorIsRefusedNamingItsPlaceInTheList() {
        try (Store store = Store.hostTcp(HOST, 0, Duration.ofSeconds(3));
             ProcessGroup alone = ProcessGroup.join(store, null, ProcessGroup.Backend.GLOO, 0, 1, Duration.ofSeconds(3), HOST);
             TensorScope scope = TensorScope.open()) {
            Tensor fine = Tensor.fromFloats(new float[] {1, 2}, 2), flags = Tensor.fromFloats(new float[] {1, 0}, 2).to(DType.BOOL);
            TorchException e = assertThrows(TorchException.class, () -> alone.allreduceSum(List.of(fine, flags), 1 << 20));
            assertTrue(e.getMessage().contains("tensors[1] is Bool"), e.getMessage());
            assertEquals(TorchException.Kind.INVALID_ARGUMENT, e.kind());
            alone.allreduceSum(List.of(fine), 1 << 20); // the group still works: a world of one sums to itself
            assertArrayEquals(new float[] {1, 2}, fine.toFloatArray());
        }
    }

    @Test
    void anUnreachableMasterFailsWithinTheTimeout() throws IOException {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort(); // free a moment ago; nobody listens once it is closed
        }
        long start = System.nanoTime();
        TorchException e = assertThrows(TorchException.class, () -> Store.connectTcp(HOST, port, Duration.ofSeconds(3)).close());
        double took = seconds(start);
        assertTrue(e.getMessage().contains("cannot reach the store at 127.0.0.1:" + port + " within 3 s"), e.getMessage());
        // it retries (a worker may start before the master) instead of giving up at the first refusal
        assertTrue(took >= 1 && took < 3 + SLACK_S, "took " + took + " s");
    }

    @Test
    void aWorkerStartedBeforeTheMasterWaitsForIt() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        CompletableFuture<Store> client = CompletableFuture.supplyAsync(() -> Store.connectTcp(HOST, port, Duration.ofSeconds(20)));
        Thread.sleep(1000); // the client is retrying by now
        try (Store master = Store.hostTcp(HOST, port, Duration.ofSeconds(20)); Store reached = client.get(30, TimeUnit.SECONDS)) {
            assertEquals(port, reached.port());
        }
    }

    @Test
    void aPeerThatNeverJoinsIsNamedOnceTheTimeoutPasses() {
        try (Store store = Store.hostTcp(HOST, 0, Duration.ofSeconds(3))) {
            long start = System.nanoTime();
            TorchException e = assertThrows(TorchException.class,
                    () -> ProcessGroup.join(store, "alone", ProcessGroup.Backend.GLOO, 0, 2, Duration.ofSeconds(3), HOST).close());
            double took = seconds(start);
            assertTrue(e.getMessage().contains("rank 1 did not join within 3 s"), e.getMessage());
            assertTrue(took >= 2.5 && took < 3 + SLACK_S, "waits the timeout, and no longer: " + took + " s");
        }
    }

    @Test
    void aWorldSizeMismatchFailsOnBothRanks() throws Exception {
        try (Store store = Store.hostTcp(HOST, 0, Duration.ofSeconds(10))) {
            Worker r0 = start("join", 0, 2, store.port(), 10, "client", "mismatch");
            Worker r1 = start("join", 1, 3, store.port(), 10, "client", "mismatch");
            Map<String, String> out0 = r0.finish(10 + SLACK_S, CollectiveWorker.FAILED);
            Map<String, String> out1 = r1.finish(10 + SLACK_S, CollectiveWorker.FAILED);
            assertTrue(out0.get("error").contains("rank 1 was started with world size 3, rank 0 with 2"), r0.output());
            assertTrue(out1.get("error").contains("this rank (1) was started with world size 3, rank 0 with 2"), r1.output());
            for (Worker w : List.of(r0, r1)) assertTrue(w.results().get("error").contains("same WORLD_SIZE"), w.output());
        }
    }

    @Test
    void aRankClaimedByTwoProcessesIsRefused() throws Exception {
        try (Store store = Store.hostTcp(HOST, 0, Duration.ofSeconds(4))) {
            Worker a = start("join", 0, 2, store.port(), 4, "client", "twice");
            Worker b = start("join", 0, 2, store.port(), 4, "client", "twice");
            String errorA = a.finish(4 + SLACK_S, CollectiveWorker.FAILED).get("error");
            String errorB = b.finish(4 + SLACK_S, CollectiveWorker.FAILED).get("error");
            // whichever claimed second is refused at once; the first waits for rank 1 in vain
            String refused = "rank 0 is claimed by more than one process";
            String waited = "rank 1 did not join within 4 s";
            assertTrue(errorA.contains(refused) && errorB.contains(waited) || errorB.contains(refused) && errorA.contains(waited),
                    a.output() + "\n---\n" + b.output());
        }
    }

    @Test
    void aPeerKilledMidAllreduceFailsTheSurvivorAtOnce() throws Exception {
        // SIGKILL closes the peer's sockets: Gloo sees the reset without waiting for the timeout
        double took = survivorOfAPeerStopped("KILL", 5);
        assertTrue(took < 5 + SLACK_S, "took " + took + " s");
    }

    @Test
    void aPeerStalledMidAllreduceFailsTheSurvivorWhenTheTimeoutPasses() throws Exception {
        // SIGSTOP leaves the peer's sockets open and silent: only the group's timeout ends the wait
        double took = survivorOfAPeerStopped("STOP", 3);
        assertTrue(took >= 2.5 && took < 3 + SLACK_S, "the survivor waits the timeout, and no longer: " + took + " s");
    }

    /** Two ranks allreduce in a loop until rank 1 gets {@code signal}; returns how long rank 0 took to exit after it. */
    private double survivorOfAPeerStopped(String signal, double timeoutSeconds) throws Exception {
        double took;
        try (Store store = Store.hostTcp(HOST, 0, Duration.ofSeconds(30))) {
            Worker survivor = start("loop", 0, 2, store.port(), timeoutSeconds, "client", "peer");
            Worker peer = start("loop", 1, 2, store.port(), timeoutSeconds, "client", "peer");
            survivor.await("looping", 30); // 20 allreduces done: both are in the loop, in lockstep
            assertEquals(0, new ProcessBuilder("kill", "-" + signal, String.valueOf(peer.process.pid())).start().waitFor());
            long stopped = System.nanoTime();
            Map<String, String> out = survivor.finish((long) timeoutSeconds + SLACK_S, CollectiveWorker.FAILED);
            took = seconds(stopped);
            assertTrue(Long.parseLong(out.get("allreduces")) >= 20, survivor.output());
            assertTrue(out.get("error").contains("allreduce failed"), survivor.output());
        }
        try (Stream<Path> files = Files.list(tmp)) {
            assertEquals(List.of(), files.filter(f -> f.getFileName().toString().startsWith("hs_err")).toList(), "no JVM crash");
        }
        return took;
    }

    // ---- workers -----------------------------------------------------------------------------

    private static final Pattern RESULT = Pattern.compile("^([A-Za-z_][\\w.@]*)=(.*)$");

    /** A running {@link CollectiveWorker}, its stdout and stderr in one file. */
    private record Worker(String name, Process process, Path log) {
        String output() {
            try {
                return name + ":\n" + Files.readString(log);
            } catch (IOException e) {
                return name + ": " + e;
            }
        }

        Map<String, String> results() throws IOException {
            Map<String, String> out = new HashMap<>();
            for (String line : Files.readAllLines(log)) {
                Matcher m = RESULT.matcher(line);
                if (m.matches()) out.put(m.group(1), m.group(2));
            }
            return out;
        }

        /** Waits for a {@code key=} line and returns its value. */
        String await(String key, long seconds) throws Exception {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
            while (System.nanoTime() < deadline) {
                String value = results().get(key);
                if (value != null) return value;
                if (!process.isAlive() && results().get(key) == null) fail(name + " ended without " + key + ": " + output());
                Thread.sleep(20);
            }
            return fail(name + " printed no " + key + " within " + seconds + " s: " + output());
        }

        /** Waits for the exit, asserts its status, and returns the results. */
        Map<String, String> finish(long seconds, int status) throws Exception {
            assertTrue(process.waitFor(seconds, TimeUnit.SECONDS), name + " still running after " + seconds + " s: " + output());
            assertEquals(status, process.exitValue(), output());
            assertFalse(output().contains("fatal error") || output().contains("hs_err"), output());
            return results();
        }
    }

    private Worker start(String scenario, int rank, int world, int port, double timeoutSeconds, String store, String prefix) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String name = scenario + "-rank" + rank + "-" + started.size();
        Path log = tmp.resolve(name + ".txt");
        List<String> command = List.of(java, "--enable-native-access=ALL-UNNAMED", "-Dshakenet.library=" + NativeLibrary.path(),
                "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", // a quick start on 2 cores
                "-cp", System.getProperty("java.class.path"), CollectiveWorker.class.getName(),
                scenario, String.valueOf(rank), String.valueOf(world), HOST, String.valueOf(port), String.valueOf(timeoutSeconds), store, prefix);
        // the folder is the worker's working directory, where a crashing JVM would leave hs_err_pid*.log
        Process p = new ProcessBuilder(command).directory(tmp.toFile()).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        started.add(p);
        return new Worker(name, p, log);
    }

    // ---- assertions --------------------------------------------------------------------------

    private static void assertDoubles(Map<String, String> out, String key, double... expected) {
        String value = out.get(key);
        assertNotNull(value, key + " missing from " + out);
        double[] actual = Arrays.stream(value.split(",")).mapToDouble(Double::parseDouble).toArray();
        assertArrayEquals(expected, actual, 0.0, key + "=" + value);
    }

    private static void assertLongs(Map<String, String> out, String key, long... expected) {
        String value = out.get(key);
        assertNotNull(value, key + " missing from " + out);
        long[] actual = Arrays.stream(value.split(",")).mapToLong(Long::parseLong).toArray();
        assertArrayEquals(expected, actual, key + "=" + value);
    }

    private static double seconds(long start) {
        return (System.nanoTime() - start) / 1e9;
    }
}
