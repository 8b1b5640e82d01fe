package dev.shakenet.cli;

import java.util.List;

/** Lets tests in other packages drive the command line's package-private parts. */
public final class MainAccess {
    private MainAccess() {}

    public static int run(String... args) {
        return Main.run(List.of(args));
    }
}
