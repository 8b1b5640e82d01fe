package dev.shakenet.cli;

import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/** --set key.path=value, repeatable: the same overrides for every command that reads a run config. */
final class ConfigOverrides {
    @Option(names = "--set", paramLabel = "KEY=VALUE",
            description = {"override one config key (repeatable), e.g.", "--set epochs=10 --set precision=bf16", "--set data.path=../shared/data"})
    List<String> values = new ArrayList<>();
}
