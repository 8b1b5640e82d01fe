package dev.shakenet.train;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.shakenet.torch.MemoryFormat;
import dev.shakenet.torch.ShakeShake;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Run configs: defaults, overrides, and a clear message for every kind of bad input. */
class ConfigLoaderTest {
    static final Path ROOT = Path.of(System.getProperty("shakenet.root", ".")).toAbsolutePath();

    @TempDir
    Path tmp;

    static RunConfig resolve(String json, String... overrides) throws IOException {
        return ConfigLoader.resolve((ObjectNode) ConfigLoader.JSON.readTree(json), List.of(overrides));
    }

    static String problem(String json, String... overrides) {
        return assertThrows(ConfigException.class, () -> resolve(json, overrides)).getMessage();
    }

    @Test
    void anEmptyConfigIsThePapersRecipe() throws IOException {
        RunConfig c = resolve("{}");
        assertEquals(RunConfig.DEFAULTS, c);
        assertEquals(26, c.model().depth());
        assertEquals(ShakeShake.Level.IMAGE, c.model().shakeLevel());
        assertTrue(c.optimizer().nesterov());
        assertEquals(RunConfig.ScheduleType.COSINE, c.schedule().type());
    }

    @Test
    void fileValuesAndOverridesLayerOverDefaults() throws IOException {
        RunConfig c = resolve("""
                {"epochs": 10, "model": {"width": 64, "shake_backward": "even"}, "memory_format": "channels_last"}""",
                "optimizer.lr=0.05", "model.shake_level=batch", "data.path=/data/cifar", "epochs=3", "output=null");
        assertEquals(3, c.epochs());
        assertEquals(64, c.model().width());
        assertEquals(26, c.model().depth(), "untouched keys keep their defaults");
        assertEquals(ShakeShake.Mode.EVEN, c.model().shakeBackward());
        assertEquals(ShakeShake.Level.BATCH, c.model().shakeLevel());
        assertEquals(0.05, c.optimizer().lr());
        assertEquals("/data/cifar", c.data().path());
        assertEquals(MemoryFormat.CHANNELS_LAST, c.memoryFormat());
    }

    @Test
    void unknownKeysAreNamedWithTheKnownOnes() {
        String top = problem("{\"epoch\": 5}");
        assertTrue(top.contains("unknown key 'epoch'") && top.contains("epochs"), top);
        String nested = problem("{\"optimizer\": {\"lr\": 0.1, \"learning_rate\": 0.2}}");
        assertTrue(nested.contains("unknown key 'optimizer.learning_rate'; known keys under optimizer: lr, momentum"), nested);
        String set = problem("{}", "optimizer.lrr=0.1");
        assertTrue(set.contains("--set optimizer.lrr: unknown key 'optimizer.lrr'"), set);
        String group = problem("{}", "model=3");
        assertTrue(group.contains("'model' is a group"), group);
        String notObject = problem("{\"model\": 26}");
        assertTrue(notObject.contains("model: expected an object with keys depth, width"), notObject);
    }

    @Test
    void badValuesAreNamedWithWhatIsAllowed() {
        String e = problem("{\"model\": {\"shake_forward\": \"shaky\"}}");
        assertTrue(e.contains("model.shake_forward: 'shaky' is not one of shake, even, keep"), e);
        String keep = problem("{\"model\": {\"shake_forward\": \"keep\"}}");
        assertTrue(keep.contains("model.shake_forward: must be shake or even"), keep);
        String type = problem("{\"epochs\": \"ten\"}");
        assertTrue(type.startsWith("epochs: "), type);
        String fraction = problem("{\"batch_size\": 12.5}");
        assertTrue(fraction.startsWith("batch_size: "), fraction);
        String many = problem("{\"model\": {\"depth\": 27, \"width\": 33}, \"optimizer\": {\"lr\": 0}, \"batch_size\": 1, \"device\": \"gpu\"}");
        for (String expected : List.of("model.depth: must be 6n+2", "model.width: must be even", "optimizer.lr: must be > 0",
                "batch_size: must be >= 2", "device: must be auto, cpu, cuda or cuda:N, got gpu")) {
            assertTrue(many.contains(expected), "lists '" + expected + "' among all problems: " + many);
        }
        String tMax = problem("{\"schedule\": {\"type\": \"cosine_annealing_lr\"}}");
        assertTrue(tMax.contains("schedule.t_max: must be an integer >= 1 for cosine_annealing_lr"), tMax);
        String nesterov = problem("{\"optimizer\": {\"momentum\": 0}}");
        assertTrue(nesterov.contains("optimizer.nesterov: needs momentum > 0"), nesterov);
        String format = problem("{\"memory_format\": \"preserve\"}");
        assertTrue(format.contains("memory_format: must be contiguous or channels_last"), format);
    }

    @Test
    void cutoutIsOffByDefaultAndTakesAPatchSideUpToTheImage() throws IOException {
        assertEquals(0, resolve("{}").data().cutout(), "off unless asked for: older runs' config.json has no such key");
        assertEquals(16, resolve("{}", "data.cutout=16").data().cutout());
        assertEquals(1, resolve("{\"data\": {\"cutout\": 1}}").data().cutout());
        assertEquals(32, resolve("{\"data\": {\"cutout\": 32, \"augment\": false}}").data().cutout(), "cutout without crop and flip");
        assertEquals("data.cutout: must be 0 (off) or a patch side of 1..32 pixels, got 33", problem("{}", "data.cutout=33").lines()
                .filter(l -> l.contains("data.cutout")).findFirst().orElseThrow().strip());
        assertTrue(problem("{\"data\": {\"cutout\": -1}}").contains("data.cutout: must be 0 (off) or a patch side of 1..32 pixels, got -1"));
        assertTrue(problem("{\"data\": {\"cutout\": 8.5}}").contains("data.cutout: "), "a fraction is no patch side");
    }

    @Test
    void unreadableFilesAreReported() throws IOException {
        String missing = assertThrows(ConfigException.class, () -> ConfigLoader.load(tmp.resolve("no.json"), List.of())).getMessage();
        assertTrue(missing.contains("does not exist"), missing);
        Path broken = Files.writeString(tmp.resolve("broken.json"), "{\"epochs\": 3,,}");
        String syntax = assertThrows(ConfigException.class, () -> ConfigLoader.load(broken, List.of())).getMessage();
        assertTrue(syntax.contains("is not valid JSON") && syntax.contains("line 1"), syntax);
        Path array = Files.writeString(tmp.resolve("array.json"), "[1, 2]");
        assertTrue(assertThrows(ConfigException.class, () -> ConfigLoader.load(array, List.of())).getMessage().contains("one JSON object"));
    }

    @Test
    void theResolvedConfigReadsBackToItself() throws IOException {
        RunConfig c = resolve("{\"epochs\": 7, \"schedule\": {\"type\": \"cosine_annealing_lr\", \"t_max\": 5, \"eta_min\": 0.001}}");
        String json = ConfigLoader.toJson(c);
        assertTrue(json.contains("\"cosine_annealing_lr\"") && json.contains("\"t_max\" : 5"), json);
        assertEquals(c, resolve(json));
    }

    @Test
    void everyShippedConfigIsValid() throws IOException {
        List<Path> configs;
        try (Stream<Path> files = Files.list(ROOT.resolve("config"))) {
            configs = files.filter(f -> f.toString().endsWith(".json")).sorted().toList();
        }
        assertTrue(configs.size() >= 5, "config/ holds the shipped configs: " + configs);
        for (Path file : configs) {
            RunConfig c = ConfigLoader.load(file, List.of());
            assertEquals(file.getFileName().toString().replace(".json", ""), c.name(), file + ": name matches the file");
        }
    }
}
