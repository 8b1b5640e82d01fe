package dev.shakenet.distributed;

import dev.shakenet.torch.Store;
import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * ShakeNet's launcher for one machine, what {@code torchrun --nproc-per-node N} does: it hosts the
 * c10d store on 127.0.0.1 (on a port the system picks, so no other process can take it between
 * choosing and binding), starts N ranks of a command with torchrun's variables (see
 * {@link WorkerEnvironment}), prefixes each line they print with "[rank r] ", stops every rank
 * when one fails, and passes SIGINT / SIGTERM on to the ranks once, so that each writes its
 * checkpoint. No rank outlives it: ranks still running after the grace period are killed, and
 * a shutdown hook stops them when the launcher's JVM ends another way.
 */
public final class LocalLauncher {
    /** How long the ranks get to write a checkpoint and exit after SIGTERM (or a passed-on signal) before SIGKILL. */
    public static final Duration GRACE = Duration.ofSeconds(15);

    static final String HOST = "127.0.0.1";
    /** Bounds the operations of the store's own client; the launcher itself only hosts it. */
    private static final Duration STORE_TIMEOUT = Duration.ofMinutes(5);
    /** How long a rank gets to vanish after SIGKILL (one stuck in a driver call may never) before the launcher gives up on it. */
    private static final Duration AFTER_KILL = Duration.ofSeconds(10);
    /** How long the copies of the ranks' output get to drain once the ranks have exited. */
    private static final Duration OUTPUT_DRAIN = Duration.ofSeconds(5);

    private sealed interface Event {}

    /** Rank {@code rank} has exited with {@code code} (128 + n: killed by signal n). */
    private record Exited(int rank, int code) implements Event {}

    /** The launcher received SIG{@code name}. */
    private record Signalled(String name) implements Event {}

    private LocalLauncher() {}

    /**
     * Runs {@code nproc} ranks of {@code command} and waits for all of them. Returns 0 when every
     * rank exits 0; else the code of the first rank that failed (the others are stopped: SIGTERM,
     * then SIGKILL after {@code grace}); after a passed-on SIGINT / SIGTERM, the ranks' stop code
     * (130 / 143), or the first other failure among them. The ranks' lines go to {@code out} and
     * {@code err}, the launcher's own messages to {@code err}.
     */
    public static int run(List<String> command, int nproc, Duration grace, PrintStream out, PrintStream err)
            throws IOException, InterruptedException {
        if (command.isEmpty()) throw new IllegalArgumentException("no command to launch");
        if (nproc < 1) throw new IllegalArgumentException("nproc " + nproc + " must be at least 1");
        BlockingQueue<Event> events = new LinkedBlockingQueue<>();
        List<Process> ranks = new CopyOnWriteArrayList<>();
        List<Thread> copies = new ArrayList<>();
        Thread hook = Thread.ofPlatform().name("shakenet-launcher-shutdown").unstarted(() -> stop(ranks, grace));
        Runtime.getRuntime().addShutdownHook(hook);
        Outcome outcome;
        try (Store store = Store.hostTcp(HOST, 0, STORE_TIMEOUT);
             SignalWatch signals = SignalWatch.of(name -> events.add(new Signalled(name)))) {
            for (int rank = 0; rank < nproc; rank++) {
                Process process = start(command, rank, nproc, store.port());
                ranks.add(process);
                copies.add(RankOutput.start(rank, "stdout", process.getInputStream(), out));
                copies.add(RankOutput.start(rank, "stderr", process.getErrorStream(), err));
                int r = rank;
                process.onExit().thenAccept(p -> events.add(new Exited(r, p.exitValue())));
            }
            outcome = watch(ranks, events, grace, err);
        } finally {
            stop(ranks, grace); // after a failure to start one rank, or an interrupt, the others must not run on
            awaitOutput(copies);
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // the JVM is already shutting down: the hook is running
            }
        }
        if (outcome.summary() != null) err.println(outcome.summary()); // last, after the ranks' own lines
        return outcome.code();
    }

    /** torchrun's variables for rank {@code rank} of {@code nproc} on this machine, with the launcher hosting the store on {@code port}. */
    static Map<String, String> rankEnvironment(int rank, int nproc, int port) {
        return Map.of("RANK", String.valueOf(rank), "WORLD_SIZE", String.valueOf(nproc),
                "LOCAL_RANK", String.valueOf(rank), "LOCAL_WORLD_SIZE", String.valueOf(nproc), "GROUP_RANK", "0",
                "MASTER_ADDR", HOST, "MASTER_PORT", String.valueOf(port),
                "TORCHELASTIC_USE_AGENT_STORE", "True", "TORCHELASTIC_RESTART_COUNT", "0",
                WorkerEnvironment.LAUNCHER_VARIABLE, WorkerEnvironment.LOCAL_LAUNCHER); // the ranks know their lines get prefixed here
    }

    private static Process start(List<String> command, int rank, int nproc, int port) throws IOException {
        ProcessBuilder builder = new ProcessBuilder(command)
                // N ranks reading one terminal would only steal each other's input
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        builder.environment().putAll(rankEnvironment(rank, nproc, port));
        try {
            return builder.start();
        } catch (IOException e) {
            throw new IOException("cannot start rank " + rank + " (" + command.getFirst() + "): " + e.getMessage(), e);
        }
    }

    /** How the ranks ended: the launcher's exit code, and the line that explains it (null when there is nothing to say). */
    private record Outcome(int code, String summary) {}

    /** Waits until every rank has exited, stopping them all at the first failure or a signal. */
    private static Outcome watch(List<Process> ranks, BlockingQueue<Event> events, Duration grace, PrintStream err)
            throws InterruptedException {
        Watch watch = new Watch(ranks, grace, err);
        while (watch.running > 0) {
            Event event = watch.deadline == null ? events.take() : events.poll(watch.deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
            switch (event) {
                case null -> watch.deadlinePassed();
                case Exited exited -> watch.exited(exited);
                case Signalled signal -> watch.signalled(signal.name());
            }
        }
        return watch.outcome();
    }

    /** What the launcher knows while the ranks run, and what it does on each event. */
    private static final class Watch {
        final List<Process> ranks;
        final Duration grace;
        final PrintStream err;
        int running;
        Long deadline; // System.nanoTime() by which the ranks being stopped must be gone; null while none is
        Exited firstFailure; // the first rank to exit non-zero
        int runningAtFailure;
        String passedOn; // the signal passed on to the ranks
        Exited firstUnexpected; // after a passed-on signal: the first rank to exit with neither 0 nor the stop code
        boolean killed;

        Watch(List<Process> ranks, Duration grace, PrintStream err) {
            this.ranks = ranks;
            this.grace = grace;
            this.err = err;
            this.running = ranks.size();
        }

        void exited(Exited exited) {
            running--;
            if (exited.code() == 0) return;
            if (firstFailure == null) {
                firstFailure = exited;
                runningAtFailure = running;
            }
            if (passedOn != null && exited.code() != stopCode(passedOn)) {
                if (firstUnexpected == null) firstUnexpected = exited;
                if (!killed) err.println("shakenet: rank " + exited.rank() + " exited with " + PosixSignals.describeExit(exited.code()));
            }
            if (deadline == null) {
                deadline = System.nanoTime() + grace.toNanos();
                ranks.forEach(LocalLauncher::terminate); // each rank writes its checkpoint and exits 143
            }
        }

        void signalled(String name) {
            if (deadline != null) {
                err.println("shakenet: SIG" + name + ": already stopping the ranks (those still running " + grace.toSeconds()
                        + " s after the stop began are killed)");
                return;
            }
            passedOn = name;
            deadline = System.nanoTime() + grace.toNanos();
            err.println("shakenet: SIG" + name + ": passing it on to every rank; waiting up to " + grace.toSeconds()
                    + " s for them to write their checkpoints and exit");
            for (Process rank : ranks) passOn(rank, name);
        }

        /** Passes SIG{@code signal} on to one rank: SIGTERM from Java, others through the kill command. */
        private void passOn(Process rank, String signal) {
            if (signal.equals("TERM")) {
                terminate(rank);
                return;
            }
            if (!rank.isAlive()) return; // its pid may already belong to another process
            try {
                PosixSignals.send(rank.toHandle(), signal);
            } catch (IOException e) {
                err.println("shakenet: cannot send SIG" + signal + " to rank " + ranks.indexOf(rank) + " (" + e.getMessage() + "): sending SIGTERM");
                terminate(rank);
            }
        }

        /** The grace period is over: kills the ranks left; gives up on them when even SIGKILL has not removed them in time. */
        void deadlinePassed() {
            if (killed) {
                for (int rank = 0; rank < ranks.size(); rank++) {
                    if (ranks.get(rank).isAlive()) err.println("shakenet: rank " + rank + " (pid " + ranks.get(rank).pid() + ") is still there "
                            + AFTER_KILL.toSeconds() + " s after SIGKILL (stuck in the kernel or a driver); leaving it");
                }
                running = 0;
                return;
            }
            for (int rank = 0; rank < ranks.size(); rank++) {
                if (!ranks.get(rank).isAlive()) continue;
                err.println("shakenet: rank " + rank + " did not exit within " + grace.toSeconds() + " s of SIG"
                        + (passedOn != null ? passedOn : "TERM") + ": killing it");
                kill(ranks.get(rank));
            }
            killed = true;
            deadline = System.nanoTime() + AFTER_KILL.toNanos();
        }

        Outcome outcome() {
            if (passedOn != null) {
                Exited decisive = firstUnexpected != null ? firstUnexpected : firstFailure;
                return new Outcome(decisive == null ? 0 : decisive.code(), null);
            }
            if (firstFailure == null) return new Outcome(0, null);
            return new Outcome(firstFailure.code(), "shakenet: rank " + firstFailure.rank() + " exited with "
                    + PosixSignals.describeExit(firstFailure.code()) + (runningAtFailure > 0 ? "; stopped the other ranks" : ""));
        }
    }

    /** The exit code of a process that stopped on SIG{@code name} the way StopRequest does (128 + the signal's number). */
    private static int stopCode(String name) {
        return name.equals("INT") ? 130 : 143;
    }

    /**
     * SIGTERM. Through the ProcessHandle: Process.destroy would also close the launcher's ends of the
     * rank's pipes, losing what it prints while it stops.
     */
    private static void terminate(Process rank) {
        rank.toHandle().destroy();
    }

    /** SIGKILL, to what the rank started too: once the rank is gone they would be orphans. */
    private static void kill(Process rank) {
        rank.descendants().forEach(ProcessHandle::destroyForcibly);
        rank.toHandle().destroyForcibly();
    }

    /** SIGTERM to every rank still running, then SIGKILL to those still running after {@code grace}. */
    static void stop(List<Process> ranks, Duration grace) {
        ranks.forEach(LocalLauncher::terminate);
        long deadline = System.nanoTime() + grace.toNanos();
        try {
            for (Process process : ranks) process.waitFor(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // hurried: straight to SIGKILL
        }
        for (Process process : ranks) {
            if (process.isAlive()) kill(process);
        }
    }

    /** Lets the copies of the ranks' output finish (a process the rank started may hold its pipe open: then not for long). */
    private static void awaitOutput(List<Thread> copies) {
        long deadline = System.nanoTime() + OUTPUT_DRAIN.toNanos();
        try {
            for (Thread copy : copies) copy.join(Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
