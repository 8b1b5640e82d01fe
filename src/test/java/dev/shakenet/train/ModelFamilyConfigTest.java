package dev.shakenet.train;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.shakenet.torch.Device;
import java.util.List;
import org.junit.jupiter.api.Test;

/** model.family and its keys: the rules each family's depth follows, the engine it may run on, and configs older than the families. */
class ModelFamilyConfigTest {
    private static RunConfig resolve(String json, String... overrides) throws Exception {
        return ConfigLoader.resolve((ObjectNode) ConfigLoader.JSON.readTree(json), List.of(overrides));
    }

    private static String problem(String json) {
        return assertThrows(ConfigException.class, () -> resolve(json)).getMessage();
    }

    @Test
    void eachFamilyHasItsOwnDepthRule() throws Exception {
        assertEquals("model.depth: must be 29 for shake_resnext (ResNeXt-29: 3 stages of 3 bottleneck blocks), got 26",
                problem("{\"model\": {\"family\": \"shake_resnext\"}}"));
        assertEquals(29, resolve("{\"model\": {\"family\": \"shake_resnext\", \"depth\": 29, \"width\": 64}}").model().depth());
        assertEquals("model.depth: must be 9n+2 for a bottleneck pyramidnet (110 basic, 272 bottleneck in the papers), got 26",
                problem("{\"model\": {\"family\": \"pyramidnet\", \"depth\": 26, \"bottleneck\": true}}"));
        assertEquals(110, resolve("{\"model\": {\"family\": \"pyramidnet\", \"depth\": 110, \"alpha\": 270}}").model().depth());
        assertEquals("model.alpha: must be > 0 (the widening over all blocks; 270 and 200 in the papers), got 0.0",
                problem("{\"model\": {\"family\": \"pyramidnet\", \"depth\": 110, \"alpha\": 0}}"));
        assertEquals("model.cardinality: must be >= 1 (groups per branch; the paper's 2x4x64d has 4), got 0",
                problem("{\"model\": {\"family\": \"shake_resnext\", \"depth\": 29, \"cardinality\": 0}}"));
    }

    @Test
    void onlyShakeShake2xKdRunsOnTheCpuKernels() throws Exception {
        RunConfig pyramid = resolve("{\"model\": {\"family\": \"pyramidnet\", \"depth\": 110}, \"device\": \"cpu\"}");
        assertEquals("reference", ProcessSettings.engine(pyramid, Device.CPU).name(), "auto picks the reference for other families");
        RunConfig forced = resolve("{\"model\": {\"family\": \"pyramidnet\", \"depth\": 110}, \"device\": \"cpu\", \"engine\": \"cpu_kernels\"}");
        ConfigException e = assertThrows(ConfigException.class, () -> ProcessSettings.engine(forced, Device.CPU));
        assertEquals("engine cpu_kernels runs Shake-Shake 2xKd (model.family shake_resnet) only, not pyramidnet: use engine \"auto\" or \"reference\"",
                e.getMessage());
    }

    @Test
    void aConfigFromBeforeTheFamiliesIsShakeShakeOnCifar10() throws Exception {
        // as an older checkpoint's meta.json holds it: no family, cardinality, alpha, bottleneck, dataset, labels, cutout or distributed
        RunConfig old = ConfigLoader.ofSaved(ConfigLoader.JSON.readTree("""
                {"model": {"depth": 26, "width": 32, "shake_forward": "shake", "shake_backward": "shake", "shake_level": "image"},
                 "data": {"path": "data", "download": false, "augment": true, "train_limit": 0, "test_limit": 0}, "cpu_conv_algorithm": "x"}"""));
        assertEquals(RunConfig.Family.SHAKE_RESNET, old.model().family());
        assertEquals("depth 26, width 32", old.model().shape(), "the same shape a checkpoint of then names, so it resumes");
        assertEquals(RunConfig.Dataset.CIFAR10, old.data().dataset());
        assertEquals(10, old.data().format().classes());
        assertEquals(0, old.data().cutout());
        assertEquals(300, old.distributed().timeoutSeconds());
    }

    @Test
    void multistepNeedsIncreasingMilestonesAndAPositiveGamma() throws Exception {
        RunConfig ok = resolve("{\"schedule\": {\"type\": \"multistep\", \"milestones\": [150, 225]}, \"epochs\": 300}");
        assertEquals(List.of(150, 225), ok.schedule().milestones());
        assertEquals(0.1, ok.schedule().gamma());
        assertEquals("schedule.milestones: must be a list of increasing epochs >= 1 for multistep, e.g. [150, 225], got [225, 150]",
                problem("{\"schedule\": {\"type\": \"multistep\", \"milestones\": [225, 150]}}"));
        assertEquals("schedule.milestones: must be a list of increasing epochs >= 1 for multistep, e.g. [150, 225], got null",
                problem("{\"schedule\": {\"type\": \"multistep\"}}"));
        assertEquals("schedule.milestones: [\"a\"] is not a list of whole numbers; expected a list of whole numbers such as [150, 225], or null",
                problem("{\"schedule\": {\"type\": \"multistep\", \"milestones\": [\"a\"]}}"));
        assertEquals("schedule.gamma: must be > 0 (the factor at each milestone, 0.1 in most recipes), got 0.0",
                problem("{\"schedule\": {\"type\": \"multistep\", \"milestones\": [1], \"gamma\": 0}}"));
    }
}
