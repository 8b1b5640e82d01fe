package dev.shakenet.distributed;

import java.time.Duration;
import java.util.List;

/** A launcher JVM for LocalLauncherTest: two ranks of {@code bash -c args[0] bash args[1]}, with a grace period of 5 s. */
public final class LauncherProbe {
    private LauncherProbe() {}

    public static void main(String[] args) throws Exception {
        System.exit(LocalLauncher.run(List.of("bash", "-c", args[0], "bash", args[1]), 2, Duration.ofSeconds(5), System.out, System.err));
    }
}
