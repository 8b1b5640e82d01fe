package dev.shakenet.cli;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import dev.shakenet.train.ConfigLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** shakenet bench prints well-formed JSON with every promised field (numbers here are not claims: tiny model). */
class BenchCommandTest {
    @TempDir
    Path tmp;

    @Test
    void benchReportsThroughputPhasesAndMemory() throws Exception {
        Path config = Files.writeString(tmp.resolve("b.json"), """
                {"name": "b", "model": {"depth": 8, "width": 4}, "batch_size": 8, "eval_batch_size": 8, "device": "cpu",
                 "data": {"path": "%s"}}""".formatted(tmp.resolve("nodata")));
        Path out = tmp.resolve("bench.json");
        for (String precision : List.of("fp32", "bf16")) {
            Object[] result = RunCommandsTest.capture("bench", "--config", config.toString(), "--steps", "3", "--warmup", "1",
                    "--set", "precision=" + precision, "--out", out.toString());
            assertEquals(0, result[0]);
            JsonNode r = ConfigLoader.JSON.readTree(Files.readString(out));
            assertEquals(precision, r.get("precision").asText());
            assertTrue(r.get("data").asText().startsWith("synthetic"), r.get("data").asText());
            for (String part : List.of("train_step_with_data", "model_step", "eval")) {
                JsonNode ips = r.get(part).get("images_per_second");
                assertTrue(ips.get("min").asDouble() > 0 && ips.get("min").asDouble() <= ips.get("median").asDouble()
                        && ips.get("median").asDouble() <= ips.get("max").asDouble(), part + ": " + ips);
                JsonNode each = r.get(part).get("each_step_seconds");
                assertEquals(3, each.size(), part + ": one time per timed step");
                double slowest = 0;
                for (JsonNode t : each) slowest = Math.max(slowest, t.asDouble());
                assertEquals(r.get(part).get("step_seconds").get("max").asDouble(), slowest, 1e-5, part + ": the slowest step is the max");
            }
            for (String phase : List.of("forward_and_loss", "backward", "nonfinite_check", "optimizer")) {
                assertTrue(r.get("model_step").get("phase_seconds").get(phase).get("median").asDouble() > 0, phase);
            }
            assertTrue(r.get("peak_rss_bytes").asLong() > 0);
            for (String key : List.of("device", "memory_format", "threads", "libtorch", "batch_size", "parameters")) {
                assertTrue(r.hasNonNull(key), key);
            }
        }
    }
}
