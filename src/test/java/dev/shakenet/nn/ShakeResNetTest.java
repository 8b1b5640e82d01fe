package dev.shakenet.nn;

import static org.junit.jupiter.api.Assertions.*;

import dev.shakenet.bench.OpProfiler;
import dev.shakenet.torch.CpuConvolution;
import dev.shakenet.torch.DType;
import dev.shakenet.torch.Device;
import dev.shakenet.torch.Functional;
import dev.shakenet.torch.Generator;
import dev.shakenet.torch.MemoryFormat;
import dev.shakenet.torch.Tensor;
import dev.shakenet.torch.TensorScope;
import dev.shakenet.torch.Torch;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The model's structure, names, parameter counts, initialization and train/eval behaviour. */
class ShakeResNetTest {
    static ShakeResNet model(int depth, int width, Generator shakeGen, Generator initGen) {
        return new ShakeResNet(depth, width, 10, Shake.SHAKE_SHAKE_IMAGE, shakeGen, new Init(Device.CPU, MemoryFormat.CONTIGUOUS, initGen));
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
    void aProjectionBlockInEvalIsShortcutPlusTheBranchMean() {
        // The block's wiring, rebuilt by hand from the functional ops and its own parameters:
        // out = BN(cat(conv1(pool(relu x)), conv2(pool(shift(relu x))))) + (b1 + b2) / 2, b = BN(conv(relu(BN(conv(relu x))))).
        try (Generator g = Generator.create(Device.CPU, 4); TensorScope scope = TensorScope.open()) {
            ShakeBlock block = new ShakeBlock(4, 6, 2, Shake.SHAKE_SHAKE_IMAGE, g, new Init(Device.CPU, MemoryFormat.CONTIGUOUS, g));
            block.train(false);
            Map<String, Tensor> p = block.stateDict();
            Tensor x = Tensor.randn(0, 1, DType.FLOAT32, Device.CPU, g, 2, 4, 8, 8);
            Tensor h = x.relu();
            Tensor path1 = Functional.conv2d(Functional.avgPool2d(h, 1, 2, 0), p.get("shortcut.conv1.weight"), null, 1, 0);
            Tensor path2 = Functional.conv2d(Functional.avgPool2d(Functional.shiftPixel(h), 1, 2, 0), p.get("shortcut.conv2.weight"), null, 1, 0);
            Tensor shortcut = bn(Functional.cat(List.of(path1, path2), 1), p, "shortcut.bn");
            Tensor expected = shortcut.add(branch(h, p, "branch1").add(branch(h, p, "branch2")).mul(0.5));
            assertArrayEquals(expected.toFloatArray(), block.forward(x, h).out().toFloatArray(), 1e-5f);
            block.close();
        }
    }

    private static Tensor branch(Tensor h, Map<String, Tensor> p, String name) {
        Tensor a = bn(Functional.conv2d(h, p.get(name + ".conv1.weight"), null, 2, 1), p, name + ".bn1").relu();
        return bn(Functional.conv2d(a, p.get(name + ".conv2.weight"), null, 1, 1), p, name + ".bn2");
    }

    private static Tensor bn(Tensor x, Map<String, Tensor> p, String name) {
        return Functional.batchNorm(x, p.get(name + ".weight"), p.get(name + ".bias"), p.get(name + ".running_mean"),
                p.get(name + ".running_var"), false, 0.1, 1e-5);
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

    /**
     * With Winograd on, CPU training keeps the branches in oneDNN's blocked layout and folds
     * their bn2s into the block end, and blocks of a stage hand each other blocked outputs (two
     * blocks a stage here): the loss, every gradient and every running statistic of a step match
     * those of the direct path (libtorch's convolutions, the ops apart), up to Winograd's float32
     * rounding and the ReLU masks it flips.
     */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(ints = {32, 40}) // 40: stage 1 (40 channels) cannot take Winograd, stages 2-3 can
    void aWinogradTrainingStepMatchesTheDirectOne(int width) {
        org.junit.jupiter.api.Assumptions.assumeTrue(CpuConvolution.winogradAvailable(), "this libshakenet was built without oneDNN's headers");
        boolean wasOn = CpuConvolution.isWinograd();
        List<Map<String, float[]>> results = new ArrayList<>();
        try {
            for (boolean winograd : new boolean[] {true, false}) {
                CpuConvolution.useWinograd(winograd);
                try (TensorScope scope = TensorScope.open(); Generator g = Generator.create(Device.CPU, 4);
                     ShakeResNet net = new ShakeResNet(14, width, 10, Shake.SHAKE_SHAKE_IMAGE, g, new Init(Device.CPU, MemoryFormat.CHANNELS_LAST, g))) {
                    Tensor x = Tensor.randn(0, 1, DType.FLOAT32, Device.CPU, g, 4, 3, 16, 16).to(MemoryFormat.CHANNELS_LAST);
                    Tensor labels = Tensor.fromLongs(new long[] {1, 7, 3, 0}, 4);
                    long before = CpuConvolution.winogradCalls();
                    Tensor loss = Functional.crossEntropy(net.forward(x), labels);
                    loss.backward();
                    assertEquals(winograd, CpuConvolution.winogradCalls() > before, "Winograd " + (winograd ? "ran" : "did not run"));
                    results.add(stepResults(net, loss));
                }
            }
        } finally {
            CpuConvolution.useWinograd(wasOn);
        }
        // Forward values (loss, running statistics) agree to Winograd's rounding. Gradients are
        // compared as whole tensors: where that rounding moves an activation across zero, a ReLU
        // passes one gradient element on one side and not the other, which moves a few of a
        // layer's gradient sums by ~1% (measured: at most 1.1% of the tensor's norm), while a
        // wrong layout or coefficient changes them by tens of percent.
        assertEquals(results.get(1).keySet(), results.get(0).keySet());
        for (String key : results.get(1).keySet()) {
            float[] direct = results.get(1).get(key), wino = results.get(0).get(key);
            if (key.endsWith(".grad")) {
                assertCloseAsTensors(direct, wino, 0.05, 1e-6, key);
            } else {
                double scale = 0;
                for (float v : direct) scale = Math.max(scale, Math.abs(v));
                for (int i = 0; i < direct.length; i++) assertEquals(direct[i], wino[i], 1e-3 * Math.max(scale, 1e-3), key + " element " + i);
            }
        }
    }

    /**
     * The shim's channels_last CPU batch norms (grouped over both branches, with the ReLU folded
     * in) compute the same training step as libtorch's batch norm and ReLU, which a contiguous
     * model runs and a CUDA model runs in either layout: same loss, gradients and running
     * statistics, up to float32 summation order. Winograd is off in both, so only these kernels
     * differ; the profiler confirms that the two runs took different ops.
     */
    @Test
    void theFusedChannelsLastStepMatchesLibtorchsOpsOneByOne() {
        boolean wasOn = CpuConvolution.isWinograd();
        boolean profiled = Torch.version().startsWith("1."); // the per-op profiler is built for libtorch 1.x
        List<Map<String, float[]>> results = new ArrayList<>();
        List<Set<String>> opsRun = new ArrayList<>();
        try {
            CpuConvolution.useWinograd(false);
            for (MemoryFormat format : new MemoryFormat[] {MemoryFormat.CHANNELS_LAST, MemoryFormat.CONTIGUOUS}) {
                try (TensorScope scope = TensorScope.open(); Generator g = Generator.create(Device.CPU, 11);
                     ShakeResNet net = new ShakeResNet(14, 32, 10, Shake.SHAKE_SHAKE_IMAGE, g, new Init(Device.CPU, format, g))) {
                    Tensor x = Tensor.randn(0, 1, DType.FLOAT32, Device.CPU, g, 6, 3, 16, 16).to(format);
                    Tensor labels = Tensor.fromLongs(new long[] {1, 7, 3, 0, 9, 4}, 6);
                    OpProfiler profiler = profiled ? OpProfiler.start() : null;
                    Tensor loss = Functional.crossEntropy(net.forward(x), labels);
                    loss.backward();
                    if (profiler != null) {
                        opsRun.add(profiler.stop().stream().map(OpProfiler.Op::name).collect(Collectors.toSet()));
                    }
                    results.add(stepResults(net, loss));
                }
            }
        } finally {
            CpuConvolution.useWinograd(wasOn);
        }
        if (profiled) {
            for (String kernel : List.of("shakenet::batch_norm_forward", "torch::autograd::CppNode<(anonymous namespace)::GroupedBatchNorm>")) {
                assertTrue(opsRun.get(0).contains(kernel), "channels_last ran " + kernel + ": " + opsRun.get(0));
                assertFalse(opsRun.get(1).contains(kernel), "contiguous ran libtorch's ops, not " + kernel + ": " + opsRun.get(1));
            }
        }
        Map<String, float[]> fused = results.get(0), apart = results.get(1);
        assertEquals(apart.keySet(), fused.keySet());
        for (String key : apart.keySet()) {
            // Whole tensors, as a ReLU mask flipped by rounding would move single elements;
            // measured here: at most 2.6e-6 (batch norm's eps off by 100x gives 1.1e-3).
            assertCloseAsTensors(apart.get(key), fused.get(key), 1e-4, 1e-7, key);
        }
    }

    /** A step's loss, every parameter's gradient and every buffer (running statistics), by name. */
    static Map<String, float[]> stepResults(ShakeResNet net, Tensor loss) {
        Map<String, float[]> values = new java.util.TreeMap<>();
        values.put("loss", loss.toFloatArray());
        net.namedParameters().forEach((name, p) -> values.put(name + ".grad", p.grad().toFloatArray()));
        net.namedBuffers().forEach((name, b) -> values.put(name, b.to(DType.FLOAT32).toFloatArray()));
        return values;
    }

    /** ||expected - actual|| <= relative * ||expected|| + absolute, norms in double. */
    static void assertCloseAsTensors(float[] expected, float[] actual, double relative, double absolute, String what) {
        double difference = 0, norm = 0;
        for (int i = 0; i < expected.length; i++) {
            difference += (expected[i] - actual[i]) * (double) (expected[i] - actual[i]);
            norm += expected[i] * (double) expected[i];
        }
        assertTrue(Math.sqrt(difference) <= relative * Math.sqrt(norm) + absolute,
                what + ": relative difference " + Math.sqrt(difference / Math.max(norm, 1e-300)));
    }
}
