package dev.shakenet.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.shakenet.torch.Torch;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * libtorch's profiler around a region of this thread: every op run in between, forward and
 * autograd backward, with its calls and its total and self time (self: less the ops it called).
 * {@code OpProfiler p = OpProfiler.start(); ...; List<Op> ops = p.stop();}
 */
public final class OpProfiler {
    /** One op's calls and microseconds over the profiled region. */
    public record Op(String name, long calls, double totalMicros, double selfMicros) {}

    private final Thread thread = Thread.currentThread();

    private OpProfiler() {}

    /** Starts profiling this thread; throws TorchException where libtorch's profiler is not available. */
    public static OpProfiler start() {
        Torch.startProfiler();
        return new OpProfiler();
    }

    /** Stops and returns the ops, most self time first. */
    public List<Op> stop() {
        if (Thread.currentThread() != thread) throw new IllegalStateException("stop the profiler on " + thread.getName());
        Path file = null;
        try {
            file = Files.createTempFile("shakenet-profile", ".json");
            Torch.stopProfiler(file);
            List<Op> ops = new ArrayList<>();
            for (JsonNode n : new ObjectMapper().readTree(file.toFile())) {
                ops.add(new Op(n.get("name").asText(), n.get("calls").asLong(), n.get("total_us").asDouble(), n.get("self_us").asDouble()));
            }
            ops.sort(Comparator.comparingDouble(Op::selfMicros).reversed());
            return ops;
        } catch (IOException e) {
            throw new UncheckedIOException("reading libtorch's profile", e);
        } finally {
            if (file != null) file.toFile().delete();
        }
    }
}
