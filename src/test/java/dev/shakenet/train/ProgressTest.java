package dev.shakenet.train;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import org.junit.jupiter.api.Test;

/** The progress bar draws only on a terminal; elsewhere progress is a log line every log_interval steps. */
class ProgressTest {
    @Test
    void notATerminalUnderTheTestRunner() {
        assertFalse(Progress.forConsole(3, 50).isTerminal(), "surefire's output is not an interactive terminal");
    }

    @Test
    void offTheTerminalNothingIsDrawnAndReportsFollowTheLogInterval() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Progress p = new Progress(false, new PrintStream(out, true), 3, 10);
        assertFalse(p.due(9, 100));
        assertTrue(p.due(10, 100));
        assertFalse(p.due(100, 100), "the last step is reported by the epoch line");
        p.report(0, 10, 100, 640, 8.0, 1.5, 0.25, 0);
        p.endEpoch();
        assertEquals("", out.toString(), "no bar, no carriage returns: it went to the log");
    }

    @Test
    void onATerminalTheBarIsRedrawnInPlaceWithEtas() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Progress p = new Progress(true, new PrintStream(out, true), 3, 10);
        assertTrue(p.due(1, 100));
        assertFalse(p.due(2, 100), "at most twice a second");
        // TensorBoard's points follow log_interval on a terminal too, not the redraws
        assertFalse(p.atLogInterval(9, 100));
        assertTrue(p.atLogInterval(10, 100));
        assertFalse(p.atLogInterval(100, 100), "the epoch's figures cover its last step");
        p.report(0, 25, 100, 1600, 20.0, 1.2345, 0.5, 0);
        String bar = out.toString();
        assertTrue(bar.startsWith("\repoch 1/3 [######------------------] 25/100  80.0 img/s  loss 1.2345  acc 50.00%"), bar);
        // 25 steps in 20 s: 60 s left in the epoch, 2 more epochs of 80 s.
        assertTrue(bar.contains("ETA 1:00 (run 3:40)"), bar);
        p.endEpoch();
        assertTrue(out.toString().endsWith("\r"), "the bar is cleared before the epoch line");
    }

    @Test
    void durations() {
        assertEquals("0:05", Progress.duration(5));
        assertEquals("12:34", Progress.duration(754));
        assertEquals("2:03:04", Progress.duration(7384));
    }
}
