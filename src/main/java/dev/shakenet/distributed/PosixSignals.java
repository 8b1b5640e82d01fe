package dev.shakenet.distributed;

import java.io.IOException;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Sends a named signal to a process, and says which signal an exit code of 128 + n stands for.
 * Java itself sends only SIGTERM and SIGKILL, and the project keeps native calls in libshakenet,
 * so other signals go through the kill command.
 */
final class PosixSignals {
    /** Linux's numbers; the ones a training process is likely to die of. */
    private static final Map<Integer, String> NAMES = Map.ofEntries(Map.entry(1, "SIGHUP"), Map.entry(2, "SIGINT"),
            Map.entry(3, "SIGQUIT"), Map.entry(4, "SIGILL"), Map.entry(6, "SIGABRT"), Map.entry(7, "SIGBUS"),
            Map.entry(8, "SIGFPE"), Map.entry(9, "SIGKILL"), Map.entry(11, "SIGSEGV"), Map.entry(13, "SIGPIPE"),
            Map.entry(14, "SIGALRM"), Map.entry(15, "SIGTERM"), Map.entry(24, "SIGXCPU"), Map.entry(25, "SIGXFSZ"));

    private PosixSignals() {}

    /** Sends SIG{@code name} ("INT", "HUP") to {@code process}; one that has already exited is left alone. */
    static void send(ProcessHandle process, String name) throws IOException {
        Process kill = new ProcessBuilder("kill", "-s", name, String.valueOf(process.pid()))
                .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectErrorStream(true).start();
        try {
            // a non-zero exit: the process has exited meanwhile
            if (!kill.waitFor(10, TimeUnit.SECONDS)) throw new IOException("kill -s " + name + " " + process.pid() + " did not return in 10 s");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            kill.destroyForcibly();
        }
    }

    /** "code 3", or "code 137 (killed by SIGKILL)": Java reports a death by signal n as exit code 128 + n. */
    static String describeExit(int code) {
        if (code == 130) return "code 130 (stopped by SIGINT)";
        if (code == 143) return "code 143 (stopped by SIGTERM)";
        if (code > 128 && code <= 128 + 64) return "code " + code + " (killed by " + NAMES.getOrDefault(code - 128, "signal " + (code - 128)) + ")";
        return "code " + code;
    }
}
