package dev.shakenet.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.shakenet.torch.Device;
import dev.shakenet.torch.Torch;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * What produced a run: ShakeNet, libtorch and JDK versions, the device and the engine the
 * training step ran on, the git commit of the checkout, the host, the time, the command, and
 * for a data-parallel run its number of processes, backend and launcher (rank 0's view). Each start (first or resumed) appends an entry
 * to the run folder's run.json.
 */
public record RunInfo(String shakenet, String libtorch, String jdk, String device, String deviceName, String engine, String gitCommit,
                      String host, String started, List<String> command, int startEpoch, int worldSize, String backend, String launcher) {
    public static final String FILE = "run.json";

    /** This start of a single-process run. */
    public static RunInfo collect(Device device, String engine, List<String> command, int startEpoch) {
        return collect(device, engine, command, startEpoch, 1, null, null);
    }

    /** This start, by {@code worldSize} processes over {@code backend} ("gloo", "nccl"; null alone) as {@code launcher} started them. */
    public static RunInfo collect(Device device, String engine, List<String> command, int startEpoch, int worldSize, String backend, String launcher) {
        return new RunInfo(shakenetVersion(), Torch.version(), Runtime.version().toString(), device.toString(), deviceName(device), engine,
                findGitCommit(), localHost(), OffsetDateTime.now().toString(), List.copyOf(command), startEpoch, worldSize, backend, launcher);
    }

    /** The GPU's name, or the CPU's model and core count. */
    public static String deviceName(Device device) {
        return device.isCuda() ? Torch.cudaDeviceName(Math.max(device.index(), 0)) : cpuModel();
    }

    /** Appends this start to {@code runDir}/run.json ({"starts": [...]}). */
    public void appendTo(Path runDir) throws IOException {
        Path file = runDir.resolve(FILE);
        ObjectNode root = Files.exists(file) ? (ObjectNode) ConfigLoader.JSON.readTree(file.toFile()) : ConfigLoader.JSON.createObjectNode();
        JsonNode starts = root.get("starts");
        ArrayNode list = starts instanceof ArrayNode a ? a : root.putArray("starts");
        list.add(ConfigLoader.JSON.valueToTree(this));
        AtomicFiles.writeString(file, ConfigLoader.JSON.writeValueAsString(root) + "\n");
    }

    /** The jar's Implementation-Version, or "dev" when running from classes. */
    public static String shakenetVersion() {
        String v = RunInfo.class.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }

    /** HEAD of the git checkout the code runs from (the jar's folder's parent), or "unknown". */
    static String findGitCommit() {
        try {
            Path code = Path.of(RunInfo.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            Path checkout = code.toAbsolutePath().getParent().getParent();
            Process git = new ProcessBuilder("git", "-C", checkout.toString(), "rev-parse", "HEAD").redirectErrorStream(true).start();
            String out = new String(git.getInputStream().readAllBytes()).trim();
            if (git.waitFor(5, TimeUnit.SECONDS) && git.exitValue() == 0 && out.matches("[0-9a-f]{40}")) {
                Process status = new ProcessBuilder("git", "-C", checkout.toString(), "status", "--porcelain", "--untracked-files=no").start();
                boolean dirty = !new String(status.getInputStream().readAllBytes()).isBlank();
                status.waitFor(5, TimeUnit.SECONDS);
                return dirty ? out + "+uncommitted" : out;
            }
        } catch (Exception e) {
            // no git, not a checkout: say so below
        }
        return "unknown";
    }

    static String cpuModel() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) return line.substring(line.indexOf(':') + 1).trim() + ", " + Runtime.getRuntime().availableProcessors() + " cores";
            }
        } catch (IOException e) {
            // not Linux
        }
        return System.getProperty("os.arch") + ", " + Runtime.getRuntime().availableProcessors() + " cores";
    }

    static String localHost() {
        try {
            return java.net.InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "unknown";
        }
    }
}
