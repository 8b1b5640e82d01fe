package dev.shakenet.train;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * A graceful stop for SIGINT (Ctrl-C), SIGTERM (what Slurm and Kubernetes send before SIGKILL)
 * and a JVM shutdown. While a run trains, the two signals only set a flag: the training thread,
 * at the next step boundary (never inside a native call), writes a checkpoint of that step and
 * leaves, and the command exits with 128 + the signal's number as shells expect. A second
 * signal meanwhile is only acknowledged, so it cannot tear the checkpoint being written; kill -9
 * still stops at once, and the previous checkpoint stays intact (files are renamed into place).
 */
public final class StopRequest {
    /** Why the run was asked to stop, and the exit code that says so. */
    public enum Reason {
        SIGINT(130),
        SIGTERM(143),
        /** The JVM is shutting down for another cause (SIGHUP, System.exit): same handling, SIGTERM's code. */
        SHUTDOWN(143);

        public final int exitCode;

        Reason(int exitCode) {
            this.exitCode = exitCode;
        }
    }

    private static volatile Reason requested;
    private static volatile CountDownLatch out = new CountDownLatch(1);
    private static final List<Runnable> restoreHandlers = new ArrayList<>();

    /** Thrown on the training thread at the first step boundary after a stop was asked for. */
    public static final class Stopped extends RuntimeException {
        private final Reason reason;

        Stopped(Reason reason) {
            super("stopped on request (" + reason + ")", null, false, false);
            this.reason = reason;
        }

        public Reason reason() {
            return reason;
        }
    }

    private StopRequest() {}

    /** Starts a new watch (one training run at a time per JVM) and takes over SIGINT and SIGTERM until {@link #disarm()}. */
    public static synchronized void arm() {
        requested = null;
        out = new CountDownLatch(1);
        handle("INT", Reason.SIGINT);
        handle("TERM", Reason.SIGTERM);
    }

    /** Gives SIGINT and SIGTERM back to the handlers they had before {@link #arm()}, and forgets any request. */
    public static synchronized void disarm() {
        requested = null;
        restoreHandlers.forEach(Runnable::run);
        restoreHandlers.clear();
    }

    private static void handle(String name, Reason reason) {
        try {
            Signal signal = new Signal(name);
            SignalHandler previous = Signal.handle(signal, s -> ask(reason));
            restoreHandlers.add(() -> Signal.handle(signal, previous));
        } catch (IllegalArgumentException e) {
            // the JVM keeps this signal for itself (-Xrs or a debugger): the shutdown hook still stops the run
        }
    }

    /** Called on the signal's thread: the first request is kept, later ones only acknowledged. */
    static void ask(Reason reason) {
        if (requested == null) {
            requested = reason;
            System.err.println("\nshakenet: " + reason + ": finishing the current step, then writing a checkpoint of it"
                    + " (a second signal does not interrupt that)");
        } else {
            System.err.println("shakenet: " + reason + " again: already stopping (the step and its checkpoint are being finished)");
        }
    }

    /** For a JVM shutdown hook: asks the training thread to stop, and waits up to {@code seconds} for it to leave native code. */
    public static boolean requestAndWait(long seconds) {
        if (requested == null) requested = Reason.SHUTDOWN;
        try {
            return out.await(seconds, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** Whether a stop was asked for (and why), or null. */
    static Reason requested() {
        return requested;
    }

    /** Called by the training thread between steps. */
    static void check() {
        Reason reason = requested;
        if (reason != null) throw new Stopped(reason);
    }

    /** The training thread is done with native work (stopped, finished or failed). */
    public static void done() {
        out.countDown();
    }
}
