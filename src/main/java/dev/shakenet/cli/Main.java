package dev.shakenet.cli;

import java.util.List;
import picocli.CommandLine;

/** The shakenet command line: exit 0 on success, 1 on a failure, 2 on bad usage or config. */
public final class Main {
    private Main() {}

    public static void main(String[] argv) {
        System.setProperty("java.awt.headless", "true"); // plots are drawn off-screen
        int code = run(List.of(argv));
        System.out.flush();
        System.exit(code);
    }

    /** Runs one command line and returns its exit code; prints errors, never throws. */
    public static int run(List<String> argv) {
        return commandLine().execute(argv.toArray(String[]::new));
    }

    /** The command tree with ShakeNet's error reporting. */
    static CommandLine commandLine() {
        return new CommandLine(new ShakenetCommand())
                .setParameterExceptionHandler(CommandErrors::usage)
                .setExecutionExceptionHandler(CommandErrors::failure);
    }
}
