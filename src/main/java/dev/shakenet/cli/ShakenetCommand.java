package dev.shakenet.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.HelpCommand;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** The top of the command tree: {@code shakenet <command>}. Only it has --version. */
@Command(name = "shakenet", mixinStandardHelpOptions = true,
        versionProvider = VersionInfo.class, sortOptions = false,
        synopsisSubcommandLabel = "<command>",
        description = "Trains Shake-Shake regularized ResNets on CIFAR-10 over libtorch. "
                + "`shakenet <command> --help` shows a command's options.",
        subcommands = {TrainCommand.class, EvalCommand.class, ExportCommand.class, PlotCommand.class,
                BenchCommand.class, InfoCommand.class, HelpCommand.class},
        exitCodeListHeading = "%nExit codes:%n",
        exitCodeList = {"0:success", "1:failure (data, library, checkpoint, I/O)",
                "2:usage or config error", "130:stopped by Ctrl-C", "143:stopped by SIGTERM"})
public final class ShakenetCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        throw new ParameterException(spec.commandLine(), "name a command: train, eval, export, plot, bench or info");
    }
}
