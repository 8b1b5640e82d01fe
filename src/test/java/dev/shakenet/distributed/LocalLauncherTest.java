package dev.shakenet.distributed;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.shakenet.torch.ProcessGroup;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.ConnectException;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * The one-machine launcher with bash (and Java) ranks: the variables each rank gets, the store it
 * reaches, its prefixed output, and how a failure or a signal stops every rank. Each rank writes
 * its pid to pid&lt;rank&gt; in a temporary folder, so that the test can check it is gone and kill
 * it if not.
 */
class LocalLauncherTest {
    static final Duration LONG_GRACE = Duration.ofSeconds(20);

    @TempDir
    Path pids;

    /** What one launch printed and returned, and how long it took. */
    record Launch(int code, String out, String err, Duration took) {
        List<String> errLines() {
            return err.lines().toList();
        }
    }

    /** Runs {@code nproc} ranks of {@code bash -c script}, whose $1 is the pid folder. */
    Launch launch(int nproc, Duration grace, String script) throws Exception {
        return launch(List.of("bash", "-c", script, "bash", pids.toString()), nproc, grace, new ByteArrayOutputStream());
    }

    static Launch launch(List<String> command, int nproc, Duration grace, ByteArrayOutputStream out) throws Exception {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        long start = System.nanoTime();
        int code = LocalLauncher.run(command, nproc, grace, new PrintStream(out, true), new PrintStream(err, true));
        return new Launch(code, out.toString(), err.toString(), Duration.ofNanos(System.nanoTime() - start));
    }

    /** The pids the ranks (and what they started) wrote. */
    List<Long> recordedPids() throws IOException {
        try (Stream<Path> files = Files.list(pids)) {
            return files.map(f -> {
                try {
                    return Long.parseLong(Files.readString(f).strip());
                } catch (IOException | NumberFormatException e) {
                    return -1L;
                }
            }).filter(pid -> pid > 0).toList();
        }
    }

    long pid(String name) throws IOException {
        return Long.parseLong(Files.readString(pids.resolve(name)).strip());
    }

    /** Running, not a zombie: an orphan stays one where pid 1 reaps nothing (some containers), and Java calls it alive. */
    static boolean alive(long pid) {
        if (!ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) return false;
        try {
            String stat = Files.readString(Path.of("/proc", String.valueOf(pid), "stat"));
            return stat.charAt(stat.lastIndexOf(')') + 2) != 'Z';
        } catch (IOException e) {
            return false; // gone meanwhile
        }
    }

    /** No rank may outlive its test, whatever the test's outcome (only this JVM's children and the sleeps are touched). */
    @AfterEach
    void killLeftovers() throws IOException {
        for (long pid : recordedPids()) {
            ProcessHandle.of(pid).filter(p -> p.isAlive() && (p.parent().map(ProcessHandle.current()::equals).orElse(false)
                    || p.info().command().orElse("").endsWith("/sleep"))).ifPresent(ProcessHandle::destroyForcibly);
        }
    }

    @Test
    @Timeout(60)
    void everyRankGetsItsPlaceAndTheStoresPort() throws Exception {
        Launch r = launch(3, LONG_GRACE, """
                echo $$ > "$1/pid$RANK"
                echo "rank=$RANK local=$LOCAL_RANK world=$WORLD_SIZE local_world=$LOCAL_WORLD_SIZE group=$GROUP_RANK" \
                  "addr=$MASTER_ADDR port=$MASTER_PORT agent=$TORCHELASTIC_USE_AGENT_STORE restart=$TORCHELASTIC_RESTART_COUNT path=${PATH:+inherited}"
                exec 3<>"/dev/tcp/$MASTER_ADDR/$MASTER_PORT" && echo "store port is listening"
                echo "a line on stderr" >&2
                """);
        assertEquals(0, r.code(), r.err());
        Matcher port = Pattern.compile("port=(\\d+)").matcher(r.out());
        assertTrue(port.find(), r.out());
        int storePort = Integer.parseInt(port.group(1));
        assertTrue(storePort > 0, r.out());
        for (int rank = 0; rank < 3; rank++) {
            String place = "[rank " + rank + "] rank=" + rank + " local=" + rank + " world=3 local_world=3 group=0 addr=127.0.0.1 port="
                    + storePort + " agent=True restart=0 path=inherited";
            assertTrue(r.out().lines().anyMatch(place::equals), place + " in\n" + r.out());
            assertTrue(r.out().lines().anyMatch(("[rank " + rank + "] store port is listening")::equals), r.out());
            assertTrue(r.err().lines().anyMatch(("[rank " + rank + "] a line on stderr")::equals), r.err());
        }
        assertEquals(List.of(), r.errLines().stream().filter(l -> !l.startsWith("[rank ")).toList(), "the launcher has nothing to say");
        assertThrows(ConnectException.class, () -> new Socket("127.0.0.1", storePort).close(), "the store stops with the launcher");
    }

    @Test
    @Timeout(120)
    void javaRanksJoinTheLaunchersStoreAndSumOverGloo() throws Exception {
        assumeTrue(ProcessGroup.backends().contains(ProcessGroup.Backend.GLOO), "this libshakenet has no Gloo");
        List<String> probe = javaCommand(RankProbe.class);
        Launch r = launch(probe, 2, LONG_GRACE, new ByteArrayOutputStream());
        assertEquals(0, r.code(), r.out() + r.err());
        for (int rank = 0; rank < 2; rank++) {
            String sum = "[rank " + rank + "] rank " + rank + " of 2 (prefix /worker/attempt_0): sum 3";
            assertTrue(r.out().lines().anyMatch(sum::equals), sum + " in\n" + r.out() + r.err());
        }
    }

    @Test
    @Timeout(60)
    void linesArriveWholeEachWithItsRank() throws Exception {
        Launch r = launch(2, LONG_GRACE, """
                echo $$ > "$1/pid$RANK"
                line=$(printf "$RANK%.0s" {1..300})
                for i in {1..2000}; do echo "$line"; done
                [ "$RANK" = 0 ] && { head -c 150000 /dev/zero | tr '\\0' a; echo; }
                printf "no newline at the end"
                """);
        assertEquals(0, r.code(), r.err());
        int[] whole = new int[2];
        int[] ends = new int[2];
        long longLine = 0;
        for (String line : r.out().lines().toList()) {
            Matcher m = Pattern.compile("\\[rank ([01])] (.*)").matcher(line);
            assertTrue(m.matches(), "unprefixed: " + line.substring(0, Math.min(80, line.length())));
            int rank = Integer.parseInt(m.group(1));
            String text = m.group(2);
            if (text.equals(m.group(1).repeat(300))) whole[rank]++;
            else if (text.equals("no newline at the end")) ends[rank]++;
            else if (text.matches("a+") && rank == 0) {
                assertTrue(text.length() <= RankOutput.MAX_LINE, "a line longer than " + RankOutput.MAX_LINE + " is passed on in pieces");
                longLine += text.length();
            } else fail("a line mixed from two ranks or cut short: " + line.substring(0, Math.min(80, line.length())));
        }
        assertArrayEquals(new int[] {2000, 2000}, whole);
        assertArrayEquals(new int[] {1, 1}, ends, "a last line without a newline still arrives");
        assertEquals(150_000, longLine, "the pieces of the long line add up");
    }

    @Test
    @Timeout(60)
    void aFailingRankStopsTheOthersAndItsCodeIsTheLaunchers() throws Exception {
        Launch r = launch(3, LONG_GRACE, """
                case $RANK in
                  0) echo $$ > "$1/pid0"; exec sleep 60;;
                  1) echo $$ > "$1/pid1"
                     until [ -s "$1/pid0" ] && [ -s "$1/pid2" ]; do sleep 0.05; done
                     echo "rank 1 gives up" >&2
                     exit 3;;
                  2) trap 'echo "rank 2 stops on SIGTERM"; exit 143' TERM
                     echo $$ > "$1/pid2"
                     while :; do sleep 0.1; done;;
                esac
                """);
        assertEquals(3, r.code(), r.err());
        assertTrue(r.took().compareTo(Duration.ofSeconds(10)) < 0, "SIGTERM ends the others at once, not after the grace period: " + r.took());
        assertTrue(r.err().contains("[rank 1] rank 1 gives up"), r.err());
        assertTrue(r.out().contains("[rank 2] rank 2 stops on SIGTERM"), "what a rank prints while it stops arrives: " + r.out());
        assertEquals("shakenet: rank 1 exited with code 3; stopped the other ranks", r.errLines().getLast(), r.err());
        assertFalse(alive(pid("pid0")), "the sleeping rank 0 is gone");
        assertFalse(alive(pid("pid2")), "rank 2 is gone");
    }

    @Test
    @Timeout(60)
    void aRankThatIgnoresSigtermIsKilledAfterTheGracePeriod() throws Exception {
        Launch r = launch(2, Duration.ofSeconds(1), """
                if [ "$RANK" = 1 ]; then
                  echo $$ > "$1/pid1"
                  until [ -s "$1/pid0" ]; do sleep 0.05; done
                  exit 5
                fi
                trap '' TERM
                echo $$ > "$1/pid0"
                exec sleep 60
                """);
        assertEquals(5, r.code(), r.err());
        assertTrue(r.took().compareTo(Duration.ofSeconds(1)) >= 0 && r.took().compareTo(Duration.ofSeconds(10)) < 0, r.took().toString());
        assertTrue(r.err().contains("shakenet: rank 0 did not exit within 1 s of SIGTERM: killing it"), r.err());
        assertEquals("shakenet: rank 1 exited with code 5; stopped the other ranks", r.errLines().getLast(), r.err());
        assertFalse(alive(pid("pid0")), "rank 0 is gone");
    }

    @Test
    @Timeout(60)
    void aRankKilledBySignalIsNamed() throws Exception {
        Launch r = launch(2, LONG_GRACE, """
                echo $$ > "$1/pid$RANK"
                if [ "$RANK" = 0 ]; then
                  until [ -s "$1/pid1" ]; do sleep 0.05; done
                  kill -KILL $$
                fi
                exec sleep 60
                """);
        assertEquals(137, r.code(), r.err());
        assertEquals("shakenet: rank 0 exited with code 137 (killed by SIGKILL); stopped the other ranks", r.errLines().getLast(), r.err());
        assertFalse(alive(pid("pid1")));
    }

    @Test
    @Timeout(60)
    void sigtermIsPassedOnAndTheRanksStopCodeReturned() throws Exception {
        assertEquals(143, launchAndSignal("TERM"));
    }

    @Test
    @Timeout(60)
    void sigintIsPassedOnAsSigint() throws Exception {
        assumeTrue(!ignored("INT"), "SIGINT is ignored in this JVM (started by a script in the background?): neither it nor its children can take it");
        assertEquals(130, launchAndSignal("INT"));
    }

    /** Whether this JVM was started with SIG{@code name} ignored: then it keeps ignoring it, and so do the processes it starts. */
    static boolean ignored(String name) {
        Signal signal = new Signal(name);
        SignalHandler previous = Signal.handle(signal, s -> {});
        Signal.handle(signal, previous);
        return previous == SignalHandler.SIG_IGN;
    }

    /**
     * Sends SIG{@code name} to this JVM while two ranks that trap it run, and returns the
     * launcher's code; checks that each rank got the signal, and that the launcher gave the
     * signal back to the handler it had before.
     */
    private int launchAndSignal(String name) throws Exception {
        Signal signal = new Signal(name);
        CountDownLatch reachedTheTest = new CountDownLatch(1);
        SignalHandler testHandler = s -> reachedTheTest.countDown(); // were the launcher's handler missing, this JVM would not die of it
        SignalHandler original = Signal.handle(signal, testHandler);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        AtomicReference<Object> result = new AtomicReference<>();
        Thread launcher = Thread.ofPlatform().start(() -> {
            try {
                result.set(launch(List.of("bash", "-c", """
                        echo $$ > "$1/pid$RANK"
                        trap 'echo "got SIG$2"; kill $sleeper; exit $3' $2
                        sleep 60 & sleeper=$!
                        echo $sleeper > "$1/sleeper$RANK"
                        echo ready
                        wait $sleeper
                        """, "bash", pids.toString(), name, name.equals("INT") ? "130" : "143"), 2, LONG_GRACE, out));
            } catch (Throwable e) {
                result.set(e);
            }
        });
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!(out.toString().contains("[rank 0] ready") && out.toString().contains("[rank 1] ready"))) {
                assertTrue(System.nanoTime() < deadline && launcher.isAlive(), "the ranks never got ready: " + out + result.get());
                Thread.sleep(20);
            }
            PosixSignals.send(ProcessHandle.current(), name);
            launcher.join(Duration.ofSeconds(30));
            assertFalse(launcher.isAlive(), "the launcher did not return after SIG" + name);
        } finally {
            SignalHandler restored = Signal.handle(signal, original);
            assertSame(testHandler, restored, "the launcher gives SIG" + name + " back to the handler before it");
        }
        assertEquals(1, reachedTheTest.getCount(), "SIG" + name + " reached the test's handler, not the launcher's");
        if (result.get() instanceof Throwable e) throw new AssertionError(e);
        Launch r = (Launch) result.get();
        for (int rank = 0; rank < 2; rank++) {
            assertTrue(r.out().contains("[rank " + rank + "] got SIG" + name), r.out() + r.err() + r.code());
            assertFalse(alive(pid("sleeper" + rank)), "rank " + rank + "'s sleep is gone");
        }
        assertTrue(r.err().contains("shakenet: SIG" + name + ": passing it on to every rank"), r.err());
        return r.code();
    }

    @Test
    @Timeout(60)
    void aLauncherEndedByAnotherSignalTakesItsRanksAlong() throws Exception {
        // SIGHUP (a closed terminal) ends the JVM through its shutdown hooks: the launcher's stops the ranks
        assumeTrue(!ignored("HUP"), "SIGHUP is ignored in this JVM (nohup?), and would be in the launcher's");
        List<String> command = new ArrayList<>(javaCommand(LauncherProbe.class));
        command.addAll(List.of("echo $$ > \"$1/pid$RANK\"; exec sleep 60", pids.toString()));
        Process launcher = new ProcessBuilder(command).redirectErrorStream(true).start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (recordedPids().size() < 2) {
                assertTrue(System.nanoTime() < deadline && launcher.isAlive(), "the ranks never started: "
                        + (launcher.isAlive() ? "" : new String(launcher.getInputStream().readAllBytes())));
                Thread.sleep(20);
            }
            PosixSignals.send(launcher.toHandle(), "HUP");
            assertTrue(launcher.waitFor(20, TimeUnit.SECONDS), "the launcher did not end on SIGHUP");
            for (long pid : recordedPids()) assertFalse(alive(pid), "rank with pid " + pid + " outlived the launcher");
        } finally {
            launcher.destroyForcibly();
        }
    }

    @Test
    @Timeout(30)
    void aCommandThatCannotStartIsNamed() {
        IOException e = assertThrows(IOException.class,
                () -> launch(List.of(pids.resolve("no-such-program").toString()), 2, LONG_GRACE, new ByteArrayOutputStream()));
        assertTrue(e.getMessage().startsWith("cannot start rank 0 (" + pids.resolve("no-such-program") + "): "), e.getMessage());
    }

    /** This test JVM's java, running {@code main} with the test class path and the native library. */
    static List<String> javaCommand(Class<?> main) {
        return List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "--enable-native-access=ALL-UNNAMED",
                "-Dshakenet.library=" + System.getProperty("shakenet.library"), "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-cp", System.getProperty("java.class.path"), main.getName());
    }
}
