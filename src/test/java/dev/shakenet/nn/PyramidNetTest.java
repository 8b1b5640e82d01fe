package dev.shakenet.nn;

import static org.junit.jupiter.api.Assertions.*;

import dev.shakenet.optim.Sgd;
import dev.shakenet.torch.DType;
import dev.shakenet.torch.Device;
import dev.shakenet.torch.Functional;
import dev.shakenet.torch.Generator;
import dev.shakenet.torch.MemoryFormat;
import dev.shakenet.torch.ShakeDrop;
import dev.shakenet.torch.Tensor;
import dev.shakenet.torch.TensorScope;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** PyramidNet with ShakeDrop: widths, names, parameter counts against the papers, the shortcut, train/eval behaviour, learning. */
class PyramidNetTest {
    static PyramidNet model(int depth, int alpha, boolean bottleneck, Generator shakeGen, Generator initGen) {
        return new PyramidNet(depth, alpha, bottleneck, 10, shakeGen, new Init(Device.CPU, MemoryFormat.CONTIGUOUS, initGen));
    }

    @Test
    void widthsGrowByFlooredSteps() {
        // depth 14 basic: n = 2, L = 6 blocks; alpha 10: k*10/6 = 1.67, 3.33, 5, 6.67, 8.33, 10, floored
        // (rounding would give 18, 19, 21, 23, 24, 26).
        assertArrayEquals(new int[] {17, 19, 21, 22, 24, 26}, PyramidNet.widths(14, 10, false));
        // depth 11 bottleneck: n = 1, L = 3; alpha 12: 4, 8, 12 exactly.
        assertArrayEquals(new int[] {20, 24, 28}, PyramidNet.widths(11, 12, true));
        // The papers' nets end at 16 + alpha: 110 basic (L = 54) and 272 bottleneck (L = 90).
        int[] basic = PyramidNet.widths(110, 270, false), bottleneck = PyramidNet.widths(272, 200, true);
        assertEquals(54, basic.length);
        assertEquals(286, basic[53]);
        assertEquals(21, basic[0], "16 + floor(270/54)");
        assertEquals(90, bottleneck.length);
        assertEquals(216, bottleneck[89]);
        assertEquals(18, bottleneck[0], "16 + floor(200/90)");
        // Whole quotients stay whole (270*k/54 = 5k): no width one short from division error.
        for (int k = 1; k <= 54; k++) assertEquals(16 + 5 * k, basic[k - 1], "block " + k);
        assertArrayEquals(new int[] {16, 17, 18}, PyramidNet.widths(8, 2.5, false), "a fractional alpha floors too");
    }

    @Test
    void badDepthsAndAlphasAreRejectedWithTheRule() {
        IllegalArgumentException basic = assertThrows(IllegalArgumentException.class, () -> PyramidNet.widths(11, 12, false));
        assertTrue(basic.getMessage().contains("6n+2"), basic.getMessage());
        IllegalArgumentException bottleneck = assertThrows(IllegalArgumentException.class, () -> PyramidNet.widths(14, 12, true));
        assertTrue(bottleneck.getMessage().contains("9n+2"), bottleneck.getMessage());
        assertThrows(IllegalArgumentException.class, () -> PyramidNet.widths(2, 12, false));
        assertThrows(IllegalArgumentException.class, () -> PyramidNet.widths(8, -1, false));
        assertThrows(IllegalArgumentException.class, () -> PyramidNet.widths(8, Double.NaN, false));
    }

    @Test
    void tinyNetCountedByHand() {
        // depth 8 basic, alpha 12: one block per stage, widths 20, 24, 28.
        long stem = 3 * 16 * 9 + 2 * 16;                                             // 464
        long block1 = 2 * 16 + 16 * 20 * 9 + 2 * 20 + 20 * 20 * 9 + 2 * 20;         // 6592
        long block2 = 2 * 20 + 20 * 24 * 9 + 2 * 24 + 24 * 24 * 9 + 2 * 24;         // 9640
        long block3 = 2 * 24 + 24 * 28 * 9 + 2 * 28 + 28 * 28 * 9 + 2 * 28;         // 13264
        long head = 2 * 28 + 28 * 10 + 10;                                           // 346
        assertEquals(30306, stem + block1 + block2 + block3 + head);
        try (Generator g = Generator.create(Device.CPU, 0); PyramidNet net = model(8, 12, false, g, g)) {
            assertEquals(30306, net.parameterCount());
        }
    }

    @Test
    void tinyBottleneckCountedByHand() {
        // depth 11 bottleneck, alpha 12: widths 20, 24, 28, outputs 80, 96, 112.
        long stem = 3 * 16 * 9 + 2 * 16;
        long block1 = 2 * 16 + 16 * 20 + 2 * 20 + 20 * 20 * 9 + 2 * 20 + 20 * 80 + 2 * 80;  // 5792
        long block2 = 2 * 80 + 80 * 24 + 2 * 24 + 24 * 24 * 9 + 2 * 24 + 24 * 96 + 2 * 96; // 9856
        long block3 = 2 * 96 + 96 * 28 + 2 * 28 + 28 * 28 * 9 + 2 * 28 + 28 * 112 + 2 * 112; // 13408
        long head = 2 * 112 + 112 * 10 + 10;                                         // 1354
        try (Generator g = Generator.create(Device.CPU, 0); PyramidNet net = model(11, 12, true, g, g)) {
            assertEquals(stem + block1 + block2 + block3 + head, net.parameterCount());
            assertEquals(30874, net.parameterCount());
        }
    }

    @Test
    void parameterCountsMatchThePapers() {
        // Han et al. (2017), CIFAR-10: PyramidNet-110 (alpha 270) 28.3M; PyramidNet-272 (alpha 200,
        // bottleneck) 26.0M, the net Yamada et al. (2018) put ShakeDrop on. Within 1% of the rounded figures.
        try (Generator g = Generator.create(Device.CPU, 0)) {
            try (PyramidNet net = model(110, 270, false, g, g)) {
                assertEquals(28_485_477, net.parameterCount(), "our count, floored widths");
                assertEquals(28.3, net.parameterCount() / 1e6, 0.283);
            }
            try (PyramidNet net = model(272, 200, true, g, g)) {
                assertEquals(26_049_562, net.parameterCount(), "our count, floored widths");
                assertEquals(26.0, net.parameterCount() / 1e6, 0.26);
                assertArrayEquals(new long[] {10, 864}, net.namedParameters().get("fc.weight").shape(), "4 x (16 + 200)");
            }
        }
    }

    @Test
    void namesAreDottedStableAndInPytorchOrder() {
        try (Generator g = Generator.create(Device.CPU, 0); PyramidNet net = model(14, 10, false, g, g)) {
            List<String> names = new ArrayList<>(net.stateDict().keySet());
            assertEquals(List.of("stem.conv.weight", "stem.bn.weight", "stem.bn.bias", "stem.bn.running_mean", "stem.bn.running_var",
                    "stem.bn.num_batches_tracked", "stages.0.0.bn1.weight", "stages.0.0.bn1.bias"), names.subList(0, 8));
            assertEquals(List.of("final_bn.weight", "final_bn.bias", "final_bn.running_mean", "final_bn.running_var",
                    "final_bn.num_batches_tracked", "fc.weight", "fc.bias"), names.subList(names.size() - 7, names.size()));
            Map<String, Tensor> p = net.namedParameters();
            // Widths 17, 19 | 21, 22 | 24, 26 (widthsGrowByFlooredSteps).
            assertArrayEquals(new long[] {17, 16, 3, 3}, p.get("stages.0.0.conv1.weight").shape());
            assertArrayEquals(new long[] {21, 19, 3, 3}, p.get("stages.1.0.conv1.weight").shape());
            assertArrayEquals(new long[] {22, 22, 3, 3}, p.get("stages.1.1.conv2.weight").shape());
            assertArrayEquals(new long[] {24}, p.get("stages.2.0.bn3.weight").shape());
            assertArrayEquals(new long[] {10, 26}, p.get("fc.weight").shape());
            // 1 stem conv + 6 blocks x 2 convs; no shortcut parameters anywhere.
            assertEquals(13, names.stream().filter(n -> n.matches(".*conv\\d?\\.weight")).count());
            assertTrue(names.stream().noneMatch(n -> n.contains("shortcut")));
            assertEquals(net.stateDict().size(), net.namedParameters().size() + net.namedBuffers().size());
        }
        try (Generator g = Generator.create(Device.CPU, 0); PyramidNet net = model(11, 12, true, g, g)) {
            Map<String, Tensor> p = net.namedParameters();
            assertArrayEquals(new long[] {20, 16, 1, 1}, p.get("stages.0.0.conv1.weight").shape());
            assertArrayEquals(new long[] {24, 24, 3, 3}, p.get("stages.1.0.conv2.weight").shape());
            assertArrayEquals(new long[] {112, 28, 1, 1}, p.get("stages.2.0.conv3.weight").shape());
            assertArrayEquals(new long[] {112}, p.get("stages.2.0.bn4.weight").shape());
        }
    }

    @Test
    void survivalDecaysLinearlyToOneHalf() {
        try (Generator g = Generator.create(Device.CPU, 0); PyramidNet net = model(14, 10, false, g, g)) {
            double[] expected = {1 - 0.5 / 6, 1 - 1.0 / 6, 0.75, 1 - 2.0 / 6, 1 - 2.5 / 6, 0.5}; // 1 - (l/6)/2
            List<PyramidBlock> blocks = net.blocks();
            for (int l = 0; l < 6; l++) assertEquals(expected[l], blocks.get(l).survival(), 1e-12, "block " + (l + 1));
            assertArrayEquals(new int[] {1, 1, 2, 1, 2, 1}, blocks.stream().mapToInt(PyramidBlock::stride).toArray());
        }
    }

    @Test
    void shortcutAveragesTwoByTwoAndZeroPadsChannels() {
        try (TensorScope scope = TensorScope.open()) {
            float[] values = new float[2 * 4 * 4];
            for (int i = 0; i < values.length; i++) values[i] = i; // channel c, row r, column w: 16c + 4r + w
            Tensor x = Tensor.fromFloats(values, 1, 2, 4, 4);
            Tensor y = ZeroPadShortcut.apply(x, 2, 3);
            assertArrayEquals(new long[] {1, 3, 2, 2}, y.shape());
            // Mean of {v, v+1, v+4, v+5} = v + 2.5 at each patch's top-left v.
            assertArrayEquals(new float[] {2.5f, 4.5f, 10.5f, 12.5f, 18.5f, 20.5f, 26.5f, 28.5f, 0, 0, 0, 0}, y.toFloatArray());
            Tensor same = ZeroPadShortcut.apply(x, 1, 2);
            assertArrayEquals(values, same.toFloatArray(), "identity where width and resolution stay");
            float[] padded = ZeroPadShortcut.apply(x, 1, 4).toFloatArray();
            assertArrayEquals(values, Arrays.copyOf(padded, 32));
            assertArrayEquals(new float[32], Arrays.copyOfRange(padded, 32, 64));
            assertThrows(IllegalArgumentException.class, () -> ZeroPadShortcut.apply(x, 1, 1));
        }
    }

    @Test
    void forwardShapesBasicAndBottleneck() {
        try (Generator g = Generator.create(Device.CPU, 4); PyramidNet basic = model(8, 12, false, g, g);
             PyramidNet bottleneck = model(11, 12, true, g, g); TensorScope scope = TensorScope.open()) {
            Tensor x = Tensor.randn(0, 1, DType.FLOAT32, Device.CPU, g, 3, 3, 32, 32);
            assertArrayEquals(new long[] {3, 10}, basic.forward(x).shape());
            assertArrayEquals(new long[] {3, 10}, bottleneck.forward(x).shape());
            assertEquals(10, basic.classes());
            // Inside: 16x32x32 -> 20x32x32 -> 24x16x16 -> 28x8x8 (basic), 80, 96, 112 channels (bottleneck).
            Tensor h = basic.stem(x);
            long[][] shapes = {{3, 20, 32, 32}, {3, 24, 16, 16}, {3, 28, 8, 8}};
            for (int i = 0; i < 3; i++) assertArrayEquals(shapes[i], (h = basic.blocks().get(i).forward(h)).shape());
            h = bottleneck.stem(x);
            long[][] wide = {{3, 80, 32, 32}, {3, 96, 16, 16}, {3, 112, 8, 8}};
            for (int i = 0; i < 3; i++) assertArrayEquals(wide[i], (h = bottleneck.blocks().get(i).forward(h)).shape());
        }
    }

    @Test
    void trainingDrawsCoefficientsFromTheGivenGenerator() {
        try (Generator init = Generator.create(Device.CPU, 1); Generator a = Generator.create(Device.CPU, 7);
             Generator b = Generator.create(Device.CPU, 7); PyramidNet first = model(8, 12, false, a, init);
             TensorScope scope = TensorScope.open()) {
            PyramidNet second;
            try (Generator init2 = Generator.create(Device.CPU, 1)) {
                second = model(8, 12, false, b, init2);
            }
            try (second) {
                Tensor x = Tensor.randn(0, 1, DType.FLOAT32, Device.CPU, init, 8, 3, 32, 32);
                float[] t1 = first.forward(x).toFloatArray(), t2 = first.forward(x).toFloatArray();
                assertFalse(Arrays.equals(t1, t2), "training: fresh ShakeDrop coefficients each call");
                assertArrayEquals(t1, second.forward(x).toFloatArray(), "same seeds: same network and the same draws");
                assertArrayEquals(t2, second.forward(x).toFloatArray());
            }
        }
    }

    @Test
    void evaluationIsShortcutPlusSurvivalTimesBranch() {
        try (Generator g = Generator.create(Device.CPU, 2); PyramidNet net = model(8, 12, false, g, g); TensorScope scope = TensorScope.open()) {
            Tensor x = Tensor.randn(0, 1, DType.FLOAT32, Device.CPU, g, 4, 3, 32, 32);
            net.train(true);
            for (int i = 0; i < 3; i++) net.forward(x); // running statistics away from their start, so eval's BN is not the identity
            net.train(false);
            float[] e1 = net.forward(x).toFloatArray(), e2 = net.forward(x).toFloatArray();
            assertArrayEquals(e1, e2, "evaluation is deterministic");

            // The same modules by hand: x_l = shortcut(x_{l-1}) + p_l * F(x_{l-1}), p_l = 1 - l/6.
            double[] p = {1 - 1.0 / 6, 1 - 2.0 / 6, 0.5};
            Tensor h = net.stem(x);
            for (int l = 0; l < 3; l++) {
                PyramidBlock block = net.blocks().get(l);
                assertEquals(p[l], block.survival(), 1e-12);
                h = block.shortcut(h).add(block.branch(h).mul(p[l]));
            }
            float[] expected = net.head(h).toFloatArray();
            for (int i = 0; i < expected.length; i++) assertEquals(expected[i], e1[i], 1e-5, "logit " + i);

            // ... and it is not the undropped sum shortcut + F (p_l does matter).
            Tensor undropped = net.stem(x);
            for (PyramidBlock block : net.blocks()) undropped = block.shortcut(undropped).add(block.branch(undropped));
            assertFalse(Arrays.equals(net.head(undropped).toFloatArray(), e1));
        }
    }

    @Test
    void backwardReachesEveryParameter() {
        for (boolean bottleneck : new boolean[] {false, true}) {
            try (Generator g = Generator.create(Device.CPU, 5); PyramidNet net = model(bottleneck ? 11 : 8, 12, bottleneck, g, g);
                 TensorScope scope = TensorScope.open()) {
                Tensor x = Tensor.randn(0, 1, DType.FLOAT32, Device.CPU, g, 6, 3, 32, 32);
                Tensor targets = Tensor.fromLongs(new long[] {0, 1, 2, 3, 4, 5}, 6);
                Functional.crossEntropy(net.forward(x), targets).backward();
                for (Map.Entry<String, Tensor> e : net.namedParameters().entrySet()) {
                    Tensor grad = e.getValue().grad();
                    assertNotNull(grad, e.getKey() + " has no gradient");
                    assertArrayEquals(e.getValue().shape(), grad.shape(), e.getKey());
                    float[] v = grad.toFloatArray();
                    boolean anyNonZero = false;
                    for (float f : v) {
                        assertTrue(Float.isFinite(f), e.getKey());
                        anyNonZero |= f != 0;
                    }
                    assertTrue(anyNonZero, e.getKey() + "'s gradient is all zero");
                }
            }
        }
    }

    @Test
    void tinyNetMemorisesThirtyTwoImages() {
        try (Generator g = Generator.create(Device.CPU, 11); PyramidNet net = model(8, 12, false, g, g);
             TensorScope data = TensorScope.open()) {
            Tensor x = Tensor.randn(0, 1, DType.FLOAT32, Device.CPU, g, 32, 3, 32, 32);
            long[] labels = new long[32];
            for (int i = 0; i < labels.length; i++) labels[i] = (i * 7) % 10;
            Tensor targets = Tensor.fromLongs(labels, 32);
            double first = 0, last = 0;
            try (Sgd sgd = new Sgd(net.parameters(), new Sgd.Options(0.9, 0, 0, false))) {
                for (int step = 0; step < 40; step++) {
                    try (TensorScope scope = TensorScope.open()) {
                        net.zeroGrad();
                        Tensor loss = Functional.crossEntropy(net.forward(x), targets);
                        loss.backward();
                        sgd.step(0.2);
                        if (step == 0) first = loss.item();
                        last = loss.item();
                    }
                }
            }
            // Random labels start near ln 10 = 2.30; memorising 32 images takes the (still shake-dropped)
            // training loss well below it (2.32 -> 1.08 when written).
            assertEquals(Math.log(10), first, 0.7);
            assertTrue(last < 0.6 * first, "loss " + first + " -> " + last);
        }
    }
}
