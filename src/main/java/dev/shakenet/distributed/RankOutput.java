package dev.shakenet.distributed;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/**
 * Copies one rank's stdout or stderr to the launcher's, a line at a time, each line prefixed with
 * "[rank r] ". Lines travel as bytes (whatever the child's encoding), and each goes out in one
 * write call, which PrintStream makes atomic, so lines of different ranks never interleave.
 */
final class RankOutput implements Runnable {
    /** A longer line is passed on in pieces of this size, so a child that never ends a line cannot fill the heap. */
    static final int MAX_LINE = 64 * 1024;

    private final InputStream from;
    private final PrintStream to;
    private final byte[] prefix;

    RankOutput(int rank, InputStream from, PrintStream to) {
        this.from = from;
        this.to = to;
        this.prefix = ("[rank " + rank + "] ").getBytes(StandardCharsets.US_ASCII);
    }

    /** Starts copying on a daemon thread (it ends when the child's end of the pipe closes). */
    static Thread start(int rank, String stream, InputStream from, PrintStream to) {
        return Thread.ofPlatform().name("rank-" + rank + "-" + stream).daemon().start(new RankOutput(rank, from, to));
    }

    @Override
    public void run() {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        line.writeBytes(prefix);
        byte[] buffer = new byte[8192];
        try (from) {
            for (int n; (n = from.read(buffer)) > 0; ) {
                for (int i = 0; i < n; i++) {
                    if (buffer[i] == '\n') {
                        emit(line);
                    } else {
                        line.write(buffer[i]);
                        if (line.size() - prefix.length >= MAX_LINE) emit(line);
                    }
                }
            }
        } catch (IOException e) {
            // the pipe broke (the child is being stopped): what was read still goes out below
        }
        if (line.size() > prefix.length) emit(line); // a last line without its newline
    }

    /** Writes the prefixed line in one call, which PrintStream makes atomic, and starts the next. */
    private void emit(ByteArrayOutputStream line) {
        line.write('\n');
        to.write(line.toByteArray(), 0, line.size());
        to.flush();
        line.reset();
        line.writeBytes(prefix);
    }
}
