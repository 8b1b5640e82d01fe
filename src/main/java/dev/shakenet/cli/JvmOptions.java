package dev.shakenet.cli;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The options this JVM was started with on its command line. The JVM also reports those the
 * environment added (JAVA_TOOL_OPTIONS, JDK_JAVA_OPTIONS first, _JAVA_OPTIONS last); a JVM started
 * with the same environment reads those again, so repeating them would apply them twice (an agent
 * loaded twice, say).
 */
final class JvmOptions {
    private JvmOptions() {}

    static List<String> ofThisJvm() {
        return fromCommandLine(ManagementFactory.getRuntimeMXBean().getInputArguments(), System.getenv());
    }

    /** {@code inputArguments} without the leading and trailing options that {@code env} added; unchanged where they do not match. */
    static List<String> fromCommandLine(List<String> inputArguments, Map<String, String> env) {
        List<String> leading = tokens(env, "JAVA_TOOL_OPTIONS");
        leading.addAll(tokens(env, "JDK_JAVA_OPTIONS"));
        List<String> trailing = tokens(env, "_JAVA_OPTIONS");
        int from = startsWith(inputArguments, leading) ? leading.size() : 0;
        int to = inputArguments.size();
        if (to - from >= trailing.size() && inputArguments.subList(to - trailing.size(), to).equals(trailing)) to -= trailing.size();
        return List.copyOf(inputArguments.subList(from, to));
    }

    private static boolean startsWith(List<String> list, List<String> prefix) {
        return list.size() >= prefix.size() && list.subList(0, prefix.size()).equals(prefix);
    }

    /** The variable's options split at white space (quoted ones may not match: then they are kept, as a duplicate). */
    private static List<String> tokens(Map<String, String> env, String name) {
        String value = env.getOrDefault(name, "").strip();
        return value.isEmpty() ? new ArrayList<>() : new ArrayList<>(Arrays.asList(value.split("\\s+")));
    }
}
