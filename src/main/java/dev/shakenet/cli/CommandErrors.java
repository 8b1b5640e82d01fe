package dev.shakenet.cli;

import dev.shakenet.data.DataException;
import dev.shakenet.torch.DamagedFileException;
import dev.shakenet.torch.NativeLibraryException;
import dev.shakenet.torch.TorchException;
import dev.shakenet.train.CheckpointException;
import dev.shakenet.train.ConfigException;
import dev.shakenet.train.FileWriteException;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.UnmatchedArgumentException;

/** How a command's errors reach the user: one line naming the problem, and the exit code. */
final class CommandErrors {
    static final int USAGE = 2;
    static final int FAILURE = 1;

    private CommandErrors() {}

    /** A usage error (unknown or missing option, bad value): the problem, a suggestion where one is close, exit 2. */
    static int usage(ParameterException e, String[] args) {
        CommandLine command = e.getCommandLine();
        PrintWriter err = command.getErr();
        String name = command.getCommandSpec().qualifiedName();
        err.println(name + ": " + describe(e));
        if (e instanceof UnmatchedArgumentException unmatched) {
            List<String> suggestions = unmatched.getSuggestions();
            if (!suggestions.isEmpty()) err.println("did you mean " + String.join(" or ", suggestions) + "?");
        }
        err.println("(" + name + " --help shows the " + (command.getSubcommands().isEmpty() ? "options" : "commands") + ")");
        err.flush();
        return USAGE;
    }

    private static String describe(ParameterException e) {
        if (e instanceof UnmatchedArgumentException unmatched && !unmatched.getUnmatched().isEmpty()) {
            String first = unmatched.getUnmatched().getFirst();
            if (first.startsWith("-")) return "unknown option '" + first + "'";
            return e.getCommandLine().getSubcommands().isEmpty() ? "unexpected argument '" + first + "'" : "unknown command '" + first + "'";
        }
        return e.getMessage();
    }

    /** A failure while a command ran: config errors exit 2, the others 1; only the unexpected print a stack trace. */
    static int failure(Exception e, CommandLine command, ParseResult parsed) {
        PrintWriter err = command.getErr();
        int code = FAILURE;
        if (e instanceof ConfigException) {
            err.println("shakenet: config: " + e.getMessage());
            code = USAGE;
        } else if (e instanceof NativeLibraryException || e instanceof DataException || e instanceof TorchException
                || e instanceof CheckpointException || e instanceof FileWriteException || e instanceof DamagedFileException) {
            err.println("shakenet: " + e.getMessage());
        } else if (e instanceof IOException) {
            err.println("shakenet: " + e);
        } else {
            err.println("shakenet: unexpected failure: " + e);
            e.printStackTrace(err);
        }
        err.flush();
        return code;
    }
}
