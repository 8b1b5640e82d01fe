package dev.shakenet.cli;

import picocli.CommandLine.Option;

/** -h / --help for a subcommand (the version is the top command's alone: it loads the native library). */
final class HelpOption {
    @Option(names = {"-h", "--help"}, usageHelp = true, description = "show this help and exit")
    boolean help;
}
