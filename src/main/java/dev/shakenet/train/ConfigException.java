package dev.shakenet.train;

import java.util.List;

/** A run config is unreadable, has unknown keys or invalid values; the message names each key and what it accepts. */
public class ConfigException extends RuntimeException {
    private final List<String> problems;

    public ConfigException(List<String> problems) {
        super(problems.size() == 1 ? problems.getFirst() : "\n  " + String.join("\n  ", problems));
        this.problems = List.copyOf(problems);
    }

    public ConfigException(String problem) {
        this(List.of(problem));
    }

    public List<String> problems() {
        return problems;
    }
}
