package dev.shakenet.train;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * A graceful stop for Ctrl-C and SIGTERM. The JVM's shutdown hook asks for a stop and waits;
 * the training thread, between two steps (never inside a native call), sees the request,
 * unwinds and says it is out. Without this, the JVM would exit while libtorch is mid-operation
 * on the training thread, and crash there. The newest checkpoint is what a resume continues from.
 */
public final class StopRequest {
    private static volatile boolean requested;
    private static volatile CountDownLatch out = new CountDownLatch(1);

    /** Thrown on the training thread at the first step boundary after a stop was asked for. */
    public static final class Stopped extends RuntimeException {
        Stopped() {
            super("stopped on request", null, false, false);
        }
    }

    private StopRequest() {}

    /** Starts a new watch (one training run at a time per JVM). */
    public static void arm() {
        requested = false;
        out = new CountDownLatch(1);
    }

    /** Asks the training thread to stop, and waits up to {@code seconds} for it to leave native code. */
    public static boolean requestAndWait(long seconds) {
        requested = true;
        try {
            return out.await(seconds, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    /** Called by the training thread between steps. */
    static void check() {
        if (requested) throw new Stopped();
    }

    /** The training thread is done with native work (stopped, finished or failed). */
    public static void done() {
        out.countDown();
    }
}
