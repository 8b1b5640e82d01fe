package dev.shakenet.train;

import java.io.PrintStream;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * Shows how an epoch is going: on an interactive terminal a one-line bar redrawn in place (at
 * most twice a second), elsewhere (CI, files) a plain log line every log_interval steps.
 */
final class Progress {
    private static final Logger LOG = LogManager.getLogger(Trainer.class);
    private static final long REDRAW_NANOS = 500_000_000L;

    private final boolean terminal;
    private final PrintStream out;
    private final int epochs;
    private final int logInterval;
    private long lastDraw;
    private int lastWidth;

    Progress(boolean terminal, PrintStream out, int epochs, int logInterval) {
        this.terminal = terminal;
        this.out = out;
        this.epochs = epochs;
        this.logInterval = logInterval;
    }

    /** A bar on an interactive terminal, log lines otherwise. */
    static Progress forConsole(int epochs, int logInterval) {
        java.io.Console console = System.console();
        return new Progress(console != null && console.isTerminal(), System.out, epochs, logInterval);
    }

    boolean isTerminal() {
        return terminal;
    }

    /** Whether to report after {@code done} of {@code total} steps (reading the metrics costs a device sync). */
    boolean due(int done, int total) {
        if (!terminal) return atLogInterval(done, total);
        if (done >= total) return false; // the epoch line follows
        long now = System.nanoTime();
        if (now - lastDraw < REDRAW_NANOS) return false;
        lastDraw = now;
        return true;
    }

    /** Whether {@code done} of {@code total} steps ends a log interval (not the epoch's last step: the epoch line follows). */
    boolean atLogInterval(int done, int total) {
        return done < total && done % logInterval == 0;
    }

    /**
     * @param epoch 0-based
     * @param epochSecondsEstimate a whole epoch's expected wall time (for the run's ETA), or 0 if unknown
     */
    void report(int epoch, int done, int total, long images, double seconds, double loss, double accuracy, double epochSecondsEstimate) {
        double perStep = seconds / done;
        double epochLeft = perStep * (total - done);
        double perEpoch = epochSecondsEstimate > 0 ? epochSecondsEstimate : perStep * total;
        double runLeft = epochLeft + perEpoch * (epochs - epoch - 1);
        String stats = String.format("%d/%d  %.1f img/s  loss %.4f  acc %.2f%%  ETA %s (run %s)", done, total, images / seconds, loss,
                100 * accuracy, duration(epochLeft), duration(runLeft));
        if (!terminal) {
            LOG.info("epoch {}/{} step {}", epoch + 1, epochs, stats);
            return;
        }
        int width = 24, filled = (int) ((long) width * done / total);
        String line = String.format("epoch %d/%d [%s%s] %s", epoch + 1, epochs, "#".repeat(filled), "-".repeat(width - filled), stats);
        out.print("\r" + line + " ".repeat(Math.max(0, lastWidth - line.length())));
        out.flush();
        lastWidth = line.length();
    }

    /** Clears the bar before the epoch's log line. */
    void endEpoch() {
        if (terminal && lastWidth > 0) {
            out.print("\r" + " ".repeat(lastWidth) + "\r");
            out.flush();
            lastWidth = 0;
        }
    }

    static String duration(double seconds) {
        long s = Math.round(seconds);
        return s >= 3600 ? String.format("%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String.format("%d:%02d", s / 60, s % 60);
    }
}
