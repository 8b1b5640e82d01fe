package dev.shakenet.nn;

import static org.junit.jupiter.api.Assertions.*;

import dev.shakenet.torch.DType;
import dev.shakenet.torch.Device;
import dev.shakenet.torch.Generator;
import dev.shakenet.torch.MemoryFormat;
import dev.shakenet.torch.Tensor;
import dev.shakenet.torch.TensorScope;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The model's structure, names, parameter counts, initialization and train/eval behaviour (ModelGoldenTest: its numbers). */
class ShakeResNetTest {
    static ShakeResNet model(int depth, int width, Generator shakeGen, Generator initGen) {
        return new ShakeResNet(depth, width, 10, ShakeCoefficients.drawn(Shake.SHAKE_SHAKE_IMAGE, shakeGen),
                new Init(Device.CPU, MemoryFormat.CONTIGUOUS, initGen));
    }

    @Test
    void parameterCountsMatchThePaper() {
        // PAPER.md: 2.92M, 11.65M, 26.19M for 26 2x32d, 2x64d, 2x96d (weights + BN affine).
        double[][] expected = {{32, 2.92}, {64, 11.65}, {96, 26.19}};
        try (Generator g = Generator.create(Device.CPU, 0)) {
            for (double[] row : expected) {
                try (ShakeResNet net = model(26, (int) row[0], g, g)) {
                    double millions = net.parameterCount() / 1e6;
                    assertEquals(row[1], millions, 0.005, "Shake-Shake-26 2x" + (int) row[0] + "d: " + net.parameterCount());
                }
            }
        }
    }

    @Test
    void namesAreDottedStableAndInPytorchOrder() {
        try (Generator g = Generator.create(Device.CPU, 0); ShakeResNet net = model(26, 32, g, g)) {
            List<String> names = new ArrayList<>(net.stateDict().keySet());
            assertEquals(List.of("stem.conv.weight", "stem.bn.weight", "stem.bn.bias", "stem.bn.running_mean", "stem.bn.running_var",
                    "stem.bn.num_batches_tracked", "stage1.0.branch1.conv1.weight", "stage1.0.branch1.bn1.weight"), names.subList(0, 8));
            assertEquals(List.of("fc.weight", "fc.bias"), names.subList(names.size() - 2, names.size()));
            for (String key : List.of("stage1.0.shortcut.conv1.weight", "stage1.0.shortcut.conv2.weight", "stage1.0.shortcut.bn.running_var",
                    "stage2.0.shortcut.bn.weight", "stage3.3.branch2.bn2.bias", "stage2.1.branch1.conv2.weight")) {
                assertTrue(names.contains(key), key);
            }
            assertFalse(names.contains("stage1.1.shortcut.conv1.weight"), "identity blocks have no shortcut parameters");
            // 1 stem conv + 3 stages x (4 blocks x 2 branches x 2 convs + 2 shortcut convs) = 55 convs.
            assertEquals(55, names.stream().filter(n -> n.endsWith("conv.weight") || n.matches(".*conv[12]\\.weight")).count());
            assertEquals(net.stateDict().size(), net.namedParameters().size() + net.namedBuffers().size());
            assertArrayEquals(new long[] {64, 32, 3, 3}, net.namedParameters().get("stage2.0.branch1.conv1.weight").shape());
            assertArrayEquals(new long[] {32, 32, 1, 1}, net.namedParameters().get("stage2.0.shortcut.conv1.weight").shape());
            assertArrayEquals(new long[] {10, 128}, net.namedParameters().get("fc.weight").shape());
        }
    }

    @Test
    void initializationFollowsThePaper() {
        try (Generator g = Generator.create(Device.CPU, 3); ShakeResNet net = model(26, 32, g, g)) {
            Map<String, Tensor> p = net.stateDict();
            float[] w = p.get("stage3.1.branch1.conv2.weight").toFloatArray(); // 128x128x3x3
            double mean = 0, sq = 0;
            for (float v : w) mean += v;
            mean /= w.length;
            for (float v : w) sq += (v - mean) * (v - mean);
            double std = Math.sqrt(sq / (w.length - 1));
            assertEquals(0, mean, 5 * Math.sqrt(2.0 / (9 * 128)) / Math.sqrt(w.length));
            assertEquals(Math.sqrt(2.0 / (9 * 128)), std, 0.01 * Math.sqrt(2.0 / (9 * 128)));
            for (float v : p.get("stage1.2.branch2.bn1.weight").toFloatArray()) assertEquals(1f, v);
            for (float v : p.get("stage1.2.branch2.bn1.bias").toFloatArray()) assertEquals(0f, v);
            for (float v : p.get("fc.bias").toFloatArray()) assertEquals(0f, v);
            for (float v : p.get("fc.weight").toFloatArray()) assertTrue(Math.abs(v) <= 1 / Math.sqrt(128));
        }
    }

    @Test
    void outputShapeAndSeedDeterminism() {
        try (Generator a = Generator.create(Device.CPU, 9); Generator b = Generator.create(Device.CPU, 9);
             ShakeResNet first = model(8, 4, a, a); ShakeResNet second = model(8, 4, b, b); TensorScope scope = TensorScope.open()) {
            Tensor x = Tensor.randn(0, 1, DType.FLOAT32, Device.CPU, null, 3, 3, 32, 32);
            Tensor y1 = first.forward(x), y2 = second.forward(x);
            assertArrayEquals(new long[] {3, 10}, y1.shape());
            assertArrayEquals(y1.toFloatArray(), y2.toFloatArray(), "same seeds, same network, same draws");
        }
    }

    @Test
    void evalIsDeterministicAndLeavesRunningStatsTrainingIsNot() {
        try (Generator g = Generator.create(Device.CPU, 1); ShakeResNet net = model(8, 4, g, g); TensorScope scope = TensorScope.open()) {
            Tensor x = Tensor.randn(0, 1, DType.FLOAT32, Device.CPU, null, 4, 3, 32, 32);
            Tensor runningMean = net.namedBuffers().get("stage2.0.branch1.bn1.running_mean");
            Tensor tracked = net.namedBuffers().get("stem.bn.num_batches_tracked");

            net.train(false);
            float[] before = runningMean.toFloatArray();
            float[] e1 = net.forward(x).toFloatArray(), e2 = net.forward(x).toFloatArray();
            assertArrayEquals(e1, e2, "eval: shake uses 0.5 and BN its running statistics");
            assertArrayEquals(before, runningMean.toFloatArray(), "eval leaves running statistics alone");
            assertEquals(0, tracked.item());

            net.train(true);
            float[] t1 = net.forward(x).toFloatArray(), t2 = net.forward(x).toFloatArray();
            assertFalse(java.util.Arrays.equals(t1, t2), "training: fresh shake coefficients each call");
            assertFalse(java.util.Arrays.equals(before, runningMean.toFloatArray()), "training updates running statistics");
            assertEquals(2, tracked.item());
            assertFalse(java.util.Arrays.equals(e1, t1));
        }
    }

    @Test
    void badShapesAreRejectedWithTheRule() {
        try (Generator g = Generator.create(Device.CPU, 0)) {
            IllegalArgumentException depth = assertThrows(IllegalArgumentException.class, () -> model(27, 32, g, g));
            assertTrue(depth.getMessage().contains("6n+2"), depth.getMessage());
            IllegalArgumentException width = assertThrows(IllegalArgumentException.class, () -> model(26, 31, g, g));
            assertTrue(width.getMessage().contains("even"), width.getMessage());
        }
    }
}
