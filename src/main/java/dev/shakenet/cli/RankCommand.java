package dev.shakenet.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * train (or bench) --nproc-per-node N: the command line each of the N ranks runs (this JVM's
 * java and options, its class path, the same command and arguments without --nproc-per-node),
 * and why a process that already is a rank may not launch ranks of its own.
 */
final class RankCommand {
    static final String OPTION = "--nproc-per-node";

    private RankCommand() {}

    /** The rank command for this JVM, {@code subcommand} and its {@code args} (@-files expanded). */
    static List<String> forThisJvm(String subcommand, List<String> args) {
        return of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), JvmOptions.ofThisJvm(),
                System.getProperty("java.class.path"), subcommand, args);
    }

    /** The train command's ranks. */
    static List<String> of(String java, List<String> jvmOptions, String classPath, List<String> trainArgs) {
        return of(java, jvmOptions, classPath, "train", trainArgs);
    }

    static List<String> of(String java, List<String> jvmOptions, String classPath, String subcommand, List<String> trainArgs) {
        List<String> command = new ArrayList<>();
        command.add(java);
        command.addAll(jvmOptions);
        // java -jar shakenet.jar has native access from the jar's manifest, which -cp does not read
        if (jvmOptions.stream().noneMatch(o -> o.startsWith("--enable-native-access"))) command.add("--enable-native-access=ALL-UNNAMED");
        command.addAll(List.of("-cp", classPath, Main.class.getName(), subcommand));
        command.addAll(without(trainArgs, OPTION));
        return command;
    }

    /** {@code args} without {@code option} and its value, given as "option value" or "option=value". */
    static List<String> without(List<String> args, String option) {
        List<String> kept = new ArrayList<>();
        for (int i = 0; i < args.size(); i++) {
            String arg = args.get(i);
            if (arg.equals(option)) i++; // its value too
            else if (!arg.startsWith(option + "=")) kept.add(arg);
        }
        return kept;
    }

    /** Why --nproc-per-node may not start ranks in a process with {@code env}, or null when it may. */
    static String refusal(Map<String, String> env) {
        List<String> set = Stream.of("RANK", "WORLD_SIZE").filter(env::containsKey).map(k -> k + "=" + env.get(k)).toList();
        if (set.isEmpty()) return null;
        return OPTION + " starts ranks, but this process already is one (" + String.join(", ", set) + ": set by torchrun or a launcher "
                + "like it): drop " + OPTION + " where a launcher starts shakenet, or unset RANK and WORLD_SIZE to start the ranks from here";
    }
}
