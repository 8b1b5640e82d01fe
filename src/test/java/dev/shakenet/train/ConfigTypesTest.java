package dev.shakenet.train;

import static dev.shakenet.train.ConfigLoaderTest.problem;
import static dev.shakenet.train.ConfigLoaderTest.resolve;
import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Wrong JSON types: each named with its key, the value as given and what the key accepts, all at once with the other problems. */
class ConfigTypesTest {

    static List<String> problems(String json, String... overrides) {
        return assertThrows(ConfigException.class, () -> resolve(json, overrides)).problems();
    }

    @Test
    void threeMistakesAreThreeProblems() {
        List<String> all = problems("{\"epochs\": \"two\", \"batch_size\": -3, \"model\": {\"depth\": 25}}");
        assertEquals(List.of(
                "epochs: \"two\" is not a whole number; expected an integer such as 10",
                "batch_size: must be >= 2 (batch norm needs two images), got -3",
                "model.depth: must be 6n+2 with n >= 1 (8, 14, 20, 26, 32, ...), got 25"), all);
    }

    @Test
    void eachKindOfWrongTypeIsNamed() {
        assertEquals("epochs: \"two\" is not a whole number; expected an integer such as 10", problem("{\"epochs\": \"two\"}"));
        assertEquals("model.width: 1.5 is not a whole number; expected an integer such as 10", problem("{\"model\": {\"width\": 1.5}}"));
        assertEquals("epochs: 3000000000 is out of range; expected an integer from -2147483648 to 2147483647",
                problem("{\"epochs\": 3000000000}"));
        assertEquals("seed: 1.5 is not a whole number; expected an integer such as 10", problem("{\"seed\": 1.5}"));
        assertEquals("data.download: \"yes\" is not a boolean; expected true or false", problem("{\"data\": {\"download\": \"yes\"}}"));
        assertEquals("optimizer.lr: \"x\" is not a number; expected a number such as 0.5", problem("{\"optimizer\": {\"lr\": \"x\"}}"));
        assertEquals("precision: 'fp64' is not one of fp32, bf16, fp16", problem("{\"precision\": \"fp64\"}"));
        assertEquals("engine: 1 is not one of auto, reference, cpu_kernels", problem("{\"engine\": 1}"));
        assertEquals("name: 5 is not a string; expected a string in double quotes, such as \"text\"", problem("{\"name\": 5}"));
        assertEquals("output: 3 is not a string; expected a string in double quotes, such as \"text\", or null", problem("{\"output\": 3}"));
        assertEquals("epochs: null is not accepted; expected an integer such as 10", problem("{\"epochs\": null}"));
        assertEquals("device: null is not accepted; expected a string in double quotes, such as \"text\"", problem("{\"device\": null}"));
        assertEquals("memory_format: null is not one of contiguous, channels_last, preserve", problem("{\"memory_format\": null}"));
        assertEquals("schedule.t_max: \"five\" is not a whole number; expected an integer such as 10, or null",
                problem("{\"schedule\": {\"t_max\": \"five\"}}"));
    }

    @Test
    void nullIsAcceptedWhereTheDefaultIsNull() throws IOException {
        RunConfig c = resolve("{\"output\": null, \"schedule\": {\"t_max\": null}, \"model\": {\"init_from\": null}}");
        assertNull(c.output());
        assertNull(c.schedule().tMax());
        assertNull(c.model().initFrom());
    }

    @Test
    void enumsMatchWhateverTheCase() throws IOException {
        assertEquals(Precision.BF16, resolve("{\"precision\": \"BF16\"}").precision());
    }

    @Test
    void aSetTypeErrorIsReportedWithTheFilesProblems() {
        List<String> all = problems("{\"batch_size\": \"big\", \"optimizer\": {\"momentum\": 1}}", "epochs=two", "model.shake_level=row");
        assertEquals(List.of(
                "batch_size: \"big\" is not a whole number; expected an integer such as 10",
                "optimizer.momentum: must be in [0, 1), got 1.0",
                "epochs: \"two\" is not a whole number; expected an integer such as 10",
                "model.shake_level: 'row' is not one of batch, image"), all);
    }

    @Test
    void typeErrorsComeWithUnknownKeysAndValueRules() {
        List<String> all = problems("{\"epoch\": 5, \"threads\": -1, \"data\": {\"augment\": 1}, \"model\": 26}", "bad");
        assertEquals(5, all.size(), all.toString());
        assertTrue(all.get(0).startsWith("unknown key 'epoch'; known keys: name, description"), all.get(0));
        assertEquals("threads: must be >= 0 (0: one per core), got -1", all.get(1));
        assertEquals("data.augment: 1 is not a boolean; expected true or false", all.get(2));
        assertTrue(all.get(3).startsWith("model: expected an object with keys depth, width"), all.get(3));
        assertEquals("--set bad: write it as key.path=value, e.g. --set optimizer.lr=0.05", all.get(4));
    }

    @Test
    void aMistypedKeyIsReportedOnce() {
        // left at its default for the value rules, so no second problem about it
        assertEquals(List.of("optimizer.nesterov: \"yes\" is not a boolean; expected true or false"),
                problems("{\"optimizer\": {\"nesterov\": \"yes\", \"momentum\": 0}}"));
    }

    @Test
    void aValidConfigBindsAsJacksonAloneWould() throws IOException {
        String json = """
                {"name": "full", "description": "every key", "model": {"depth": 14, "width": 64, "shake_forward": "even",
                 "shake_backward": "keep", "shake_level": "batch", "init_from": "w.pt",
                 "family": "shake_resnet", "cardinality": 8, "alpha": 48, "bottleneck": true, "stem_width": 32},
                 "optimizer": {"lr": 0.05, "momentum": 0.8, "dampening": 0, "weight_decay": 5e-4, "nesterov": false},
                 "schedule": {"type": "cosine_annealing_lr", "t_max": 50, "eta_min": 0.001, "warmup_epochs": 0.5, "milestones": [60, 120],
                  "gamma": 0.2},
                 "epochs": 200, "batch_size": 128, "eval_batch_size": 256,
                 "data": {"path": "/data", "download": true, "augment": false, "train_limit": 100, "test_limit": 10, "cutout": 16,
                  "dataset": "cifar100", "labels": "coarse"},
                 "device": "cpu", "memory_format": "channels_last", "precision": "bf16", "seed": 12345678901, "threads": 2,
                 "cpu_allocator": "system", "engine": "reference", "output": "runs/full", "eval_interval": 2, "log_interval": 10,
                 "checkpoint": {"interval": 5, "keep_last": 3, "keep_best": false}, "nonfinite": "skip", "nonfinite_patience": 4,
                 "distributed": {"backend": "gloo", "timeout_seconds": 60, "bucket_mb": 4, "master_addr": "node1", "master_port": 29400},
                 "tensorboard": false}""";
        RunConfig c = resolve(json);
        assertEquals(ConfigLoader.JSON.treeToValue(ConfigLoader.JSON.readTree(json), RunConfig.class), c);
        assertEquals(12345678901L, c.seed());
        assertEquals(0.5, c.schedule().warmupEpochs());
        assertEquals(16, c.data().cutout());
    }
}
