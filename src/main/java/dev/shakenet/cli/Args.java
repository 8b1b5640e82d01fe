package dev.shakenet.cli;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A subcommand's options: {@code --name value} (single), {@code --name value} repeated (multi),
 * and {@code --flag}. Anything else is a usage error naming what to type instead.
 */
final class Args {
    /** Wrong options; the message says what was expected. */
    static final class UsageException extends RuntimeException {
        UsageException(String message) {
            super(message);
        }
    }

    private final Map<String, List<String>> values = new java.util.HashMap<>();
    private final List<String> flags = new ArrayList<>();

    /**
     * @param single options taking one value
     * @param multi options that may repeat
     * @param flagNames options without a value
     */
    static Args parse(List<String> args, Set<String> single, Set<String> multi, Set<String> flagNames) {
        Args parsed = new Args();
        for (int i = 0; i < args.size(); i++) {
            String arg = args.get(i);
            String name = arg, inline = null;
            int eq = arg.indexOf('=');
            if (arg.startsWith("--") && eq > 0 && (single.contains(arg.substring(0, eq)) || multi.contains(arg.substring(0, eq)))) {
                name = arg.substring(0, eq);
                inline = arg.substring(eq + 1);
            }
            if (flagNames.contains(name)) {
                parsed.flags.add(name);
            } else if (single.contains(name) || multi.contains(name)) {
                String value = inline;
                if (value == null) {
                    if (i + 1 >= args.size()) throw new UsageException(name + " needs a value");
                    value = args.get(++i);
                }
                List<String> list = parsed.values.computeIfAbsent(name, k -> new ArrayList<>());
                if (single.contains(name) && !list.isEmpty()) throw new UsageException(name + " given twice");
                list.add(value);
            } else {
                List<String> known = new ArrayList<>();
                known.addAll(single);
                known.addAll(multi);
                known.addAll(flagNames);
                java.util.Collections.sort(known);
                throw new UsageException("unknown option '" + arg + "' (options: " + String.join(", ", known) + ")");
            }
        }
        return parsed;
    }

    /** An option's value as a positive integer, or a usage error naming the option. */
    static int positiveInt(String option, String value) {
        try {
            int n = Integer.parseInt(value);
            if (n > 0) return n;
        } catch (NumberFormatException e) {
            // reported below
        }
        throw new UsageException(option + " needs a positive integer, got " + value);
    }

    String get(String name) {
        List<String> list = values.get(name);
        return list == null ? null : list.getFirst();
    }

    List<String> all(String name) {
        return values.getOrDefault(name, List.of());
    }

    boolean has(String flag) {
        return flags.contains(flag);
    }
}
