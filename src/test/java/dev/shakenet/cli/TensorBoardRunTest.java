package dev.shakenet.cli;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import dev.shakenet.data.CifarFiles;
import dev.shakenet.tensorboard.EventFileReader;
import dev.shakenet.tensorboard.EventWriter;
import dev.shakenet.train.ConfigLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A run's TensorBoard event files hold its metrics.jsonl, and a resumed run starts a new file with a SessionLog START. */
class TensorBoardRunTest {
    @TempDir
    Path tmp;

    @Test
    void eventFilesHoldTheMetricsAndAResumeMarksWhereItRewrites() throws Exception {
        Path run = trainTiny(tmp, "run", "epochs=2");
        assertEquals(0, Main.run(List.of("train", "--resume", run.toString(), "--set", "epochs=3")));

        List<Path> files;
        try (Stream<Path> s = Files.list(run)) {
            files = s.filter(p -> p.getFileName().toString().startsWith(EventWriter.PREFIX)).sorted().toList();
        }
        assertEquals(2, files.size(), "one event file per start: " + files);
        List<EventFileReader.Event> first = EventFileReader.read(files.get(0)), second = EventFileReader.read(files.get(1));
        assertEquals("brain.Event:2", first.getFirst().fileVersion());
        assertEquals("brain.Event:2", second.getFirst().fileVersion());
        assertEquals(1, second.get(1).sessionStatus(), "the resumed file opens with a SessionLog START");
        assertEquals(7, second.get(1).step(), "at the first update after the checkpoint (2 epochs of 3 steps): epoch 2's points stay");
        // the resolved config as text: at step 0, and again (epochs 3 now) where the resume starts
        assertConfigText(first.get(1), 0, 2);
        assertConfigText(second.get(2), 7, 3);

        List<String> lines = Files.readAllLines(run.resolve("metrics.jsonl"));
        assertEquals(3, lines.size());
        List<EventFileReader.Event> all = Stream.concat(first.stream(), second.stream()).toList();
        for (String l : lines) {
            JsonNode m = ConfigLoader.JSON.readTree(l);
            long step = m.get("epoch").asLong() * 3;
            for (String key : List.of("train_loss", "train_accuracy", "test_loss", "test_accuracy")) {
                EventFileReader.Event e = all.stream().filter(x -> ("epoch/" + key).equals(x.tag()) && x.step() == step).findFirst()
                        .orElseThrow(() -> new AssertionError("no epoch/" + key + " at step " + step));
                assertEquals((float) m.get(key).asDouble(), e.value(), 0f, "epoch/" + key + " at " + step);
            }
        }
        // per log interval (here every step but an epoch's last, whose figures the epoch line carries)
        assertTrue(first.stream().anyMatch(e -> "train/loss".equals(e.tag()) && e.step() == 1), "train/loss at update 1");
        assertTrue(first.stream().anyMatch(e -> "lr".equals(e.tag()) && e.step() == 2));
        assertTrue(first.stream().anyMatch(e -> "images_per_second".equals(e.tag())));

        // tensorboard: false writes none
        Path off = trainTiny(tmp, "off", "tensorboard=false", "epochs=1");
        try (Stream<Path> s = Files.list(off)) {
            assertTrue(s.noneMatch(p -> p.getFileName().toString().startsWith(EventWriter.PREFIX)));
        }
    }

    /**
     * A run of a tiny net into {@code tmp/<name>} on 30 images (3 steps of 10 per epoch), a log
     * line every step, every epoch's checkpoint kept; {@code sets} are --set overrides.
     */
    static Path trainTiny(Path tmp, String name, String... sets) throws Exception {
        Path data = tmp.resolve("data");
        if (!Files.isDirectory(data)) CifarFiles.writeFolder(data, 6);
        Path config = Files.writeString(tmp.resolve("tb.json"), """
                {"name": "tb", "model": {"depth": 8, "width": 4}, "batch_size": 10, "device": "cpu", "threads": 2, "epochs": 2,
                 "log_interval": 1, "checkpoint": {"keep_last": 5}}""");
        Path run = tmp.resolve(name);
        List<String> args = new java.util.ArrayList<>(List.of("train", "--config", config.toString(), "--set", "data.path=" + data, "--set", "output=" + run));
        for (String set : sets) args.addAll(List.of("--set", set));
        assertEquals(0, Main.run(args));
        return run;
    }

    private static void assertConfigText(EventFileReader.Event e, long step, int epochs) throws Exception {
        assertEquals("config/text_summary", e.tag());
        assertEquals("text", e.plugin());
        assertEquals(step, e.step());
        assertTrue(e.text().lines().allMatch(l -> l.startsWith("    ")), "a Markdown code block: " + e.text());
        JsonNode config = ConfigLoader.JSON.readTree(e.text());
        assertEquals(epochs, config.get("epochs").asInt());
        assertEquals(4, config.get("model").get("width").asInt());
        assertTrue(config.has("tensorboard"), "every key, defaults included");
    }
}
