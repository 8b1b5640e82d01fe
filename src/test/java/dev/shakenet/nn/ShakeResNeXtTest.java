package dev.shakenet.nn;

import static org.junit.jupiter.api.Assertions.*;

import dev.shakenet.optim.Sgd;
import dev.shakenet.torch.DType;
import dev.shakenet.torch.Device;
import dev.shakenet.torch.Functional;
import dev.shakenet.torch.Generator;
import dev.shakenet.torch.MemoryFormat;
import dev.shakenet.torch.ShakeShake.Level;
import dev.shakenet.torch.ShakeShake.Mode;
import dev.shakenet.torch.Tensor;
import dev.shakenet.torch.TensorScope;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Shake-Shake ResNeXt-29: the paper's parameter count, a small variant's layers, grouping, gradients, modes and training. */
class ShakeResNeXtTest {
    /** The paper's CIFAR-100 coefficients: Shake-Even-Image. */
    private static final Shake SHAKE_EVEN_IMAGE = new Shake(Mode.SHAKE, Mode.EVEN, Level.IMAGE);

    private static Init init(Generator g) {
        return new Init(Device.CPU, MemoryFormat.CONTIGUOUS, g);
    }

    /** 2x2x4d with stem width 4: stage outputs 16, 32, 64, bottleneck widths 8, 16, 32, 10 classes. */
    private static ShakeResNeXt tiny(Generator shakeGen, Generator initGen) {
        return new ShakeResNeXt(2, 4, 4, 10, ShakeCoefficients.drawn(SHAKE_EVEN_IMAGE, shakeGen), init(initGen));
    }

    @Test
    void paperModelHasThePapersParameterCount() {
        // Gastaldi 2017, CIFAR-100 table: ResNeXt-29 2x4x64d, 34.4M parameters.
        try (Generator g = Generator.create(Device.CPU, 0);
             ShakeResNeXt net = new ShakeResNeXt(4, 64, 100, ShakeCoefficients.drawn(SHAKE_EVEN_IMAGE, g), init(g))) {
            assertEquals(34.4e6, net.parameterCount(), 0.01 * 34.4e6, "2x4x64d: " + net.parameterCount());
            // By hand, weights + BN affine:
            // stem 1728 + 128; stage 1: block 0 2 x 230912 + shortcut 16896, blocks 1-2 2 x 2 x 280064;
            // stage 2: 2 x 986112 + 132096, 2 x 2 x 1117184; stage 3: 2 x 3938304 + 526336, 2 x 2 x 4462592; fc 102500.
            assertEquals(34_529_700, net.parameterCount());
            Map<String, Tensor> p = net.namedParameters();
            assertArrayEquals(new long[] {256, 64, 3, 3}, p.get("stage1.0.branch1.conv2.weight").shape(), "4 groups of 64 channels");
            assertArrayEquals(new long[] {1024, 256, 3, 3}, p.get("stage3.2.branch2.conv2.weight").shape(), "4 groups of 256 channels");
            assertArrayEquals(new long[] {256, 64, 1, 1}, p.get("stage1.0.shortcut.conv.weight").shape(), "stem 64 -> 256");
            assertArrayEquals(new long[] {100, 1024}, p.get("fc.weight").shape());
        }
    }

    @Test
    void smallVariantCountsLayerByLayer() {
        long stem = 3 * 4 * 9 + 2 * 4;                             // conv 3x3 3->4, BN(4)
        // A branch: conv1 in->w, BN(w), conv2 3x3 w->w in 2 groups (w * w/2 * 9), BN(w), conv3 w->out, BN(out).
        long s1b0 = 4 * 8 + 16 + 8 * 4 * 9 + 16 + 8 * 16 + 32;      // in 4, w 8, out 16: 512
        long s1b = 16 * 8 + 16 + 8 * 4 * 9 + 16 + 8 * 16 + 32;      // in 16: 608
        long s2b0 = 16 * 16 + 32 + 16 * 8 * 9 + 32 + 16 * 32 + 64; // in 16, w 16, out 32: 2048
        long s2b = 32 * 16 + 32 + 16 * 8 * 9 + 32 + 16 * 32 + 64;  // in 32: 2304
        long s3b0 = 32 * 32 + 64 + 32 * 16 * 9 + 64 + 32 * 64 + 128; // in 32, w 32, out 64: 7936
        long s3b = 64 * 32 + 64 + 32 * 16 * 9 + 64 + 32 * 64 + 128;  // in 64: 8960
        long shortcuts = (4 * 16 + 32) + (16 * 32 + 64) + (32 * 64 + 128); // conv 1x1 + BN, first block of each stage
        long fc = 64 * 10 + 10;
        long expected = stem + 2 * (s1b0 + 2 * s1b) + 2 * (s2b0 + 2 * s2b) + 2 * (s3b0 + 2 * s3b) + shortcuts + fc;
        assertEquals(72_094, expected, "the sum written out");
        try (Generator g = Generator.create(Device.CPU, 0); ShakeResNeXt net = tiny(g, g)) {
            assertEquals(expected, net.parameterCount());
            Map<String, Tensor> p = net.namedParameters();
            assertEquals(1 + 3 * 3 * 2 * 3 + 3, p.keySet().stream().filter(n -> n.matches(".*conv\\d?\\.weight")).count(),
                    "stem + 3 stages x 3 blocks x 2 branches x 3 convs + 3 shortcut convs");
            assertArrayEquals(new long[] {16, 8, 3, 3}, p.get("stage2.1.branch2.conv2.weight").shape(), "grouped: (out, in/groups, 3, 3)");
            assertArrayEquals(new long[] {16, 16, 1, 1}, p.get("stage2.0.branch1.conv1.weight").shape());
            assertArrayEquals(new long[] {32, 16, 1, 1}, p.get("stage2.0.branch1.conv3.weight").shape());
            assertTrue(p.containsKey("stage3.0.shortcut.bn.bias"));
            assertFalse(p.containsKey("stage3.1.shortcut.conv.weight"), "identity shortcuts have no parameters");
            assertTrue(net.namedBuffers().containsKey("stage1.2.branch1.bn3.num_batches_tracked"));
            assertEquals("stem.conv.weight", p.keySet().iterator().next());
        }
    }

    @Test
    void groupedConvolutionSeparatesItsGroups() {
        // Input only in group 0's channels: a 2-group conv leaves group 1's outputs at exactly 0.
        try (Generator g = Generator.create(Device.CPU, 5); TensorScope scope = TensorScope.open();
             Conv2d conv = new Conv2d(4, 6, 3, 1, 1, 2, init(g))) {
            float[] data = new float[4 * 5 * 5];
            for (int i = 0; i < 2 * 25; i++) data[i] = 1 + i % 7;
            float[] y = conv.forward(Tensor.fromFloats(data, 1, 4, 5, 5)).toFloatArray();
            for (int i = 3 * 25; i < 6 * 25; i++) assertEquals(0f, y[i], "group 1 output " + i);
            assertTrue(Arrays.stream(toDoubles(y, 0, 3 * 25)).anyMatch(v -> v != 0), "group 0 sees its input");
            assertThrows(IllegalArgumentException.class, () -> new Conv2d(6, 4, 3, 1, 1, 4, init(g)), "4 groups cannot split 6 channels");
        }
    }

    @Test
    void forwardShapeAndBackwardReachesEveryParameter() {
        try (Generator g = Generator.create(Device.CPU, 1); ShakeResNeXt net = tiny(g, g); TensorScope scope = TensorScope.open()) {
            Tensor x = Tensor.randn(0, 1, DType.FLOAT32, Device.CPU, g, 3, 3, 32, 32);
            Tensor logits = net.forward(x);
            assertArrayEquals(new long[] {3, 10}, logits.shape());
            assertEquals(10, net.classes());
            Functional.crossEntropy(logits, Tensor.fromLongs(new long[] {1, 4, 7}, 3)).backward();
            net.namedParameters().forEach((name, p) -> {
                assertNotNull(p.grad(), name + " has no gradient");
                assertTrue(Arrays.stream(p.grad().to(DType.FLOAT64).toDoubleArray()).anyMatch(v -> v != 0), name + "'s gradient is all zeros");
            });
        }
    }

    @Test
    void trainingShakesEvaluationDoesNot() {
        try (Generator g = Generator.create(Device.CPU, 2); ShakeResNeXt net = tiny(g, g); TensorScope scope = TensorScope.open()) {
            Tensor x = Tensor.randn(0, 1, DType.FLOAT32, Device.CPU, g, 4, 3, 32, 32);
            net.train(false);
            float[] e1 = net.forward(x).toFloatArray(), e2 = net.forward(x).toFloatArray();
            assertArrayEquals(e1, e2, "eval: shake 0.5, running statistics");
            net.train(true);
            float[] t1 = net.forward(x).toFloatArray(), t2 = net.forward(x).toFloatArray();
            assertFalse(Arrays.equals(t1, t2), "training: fresh coefficients each call");
        }
    }

    @Test
    void smallVariantFitsRandomImages() {
        // Only memorization fits noise. Shake-Even-Even (no random coefficients) isolates the
        // model's capacity and gradients from the regularizer, which slows fitting by design.
        Shake even = new Shake(Mode.EVEN, Mode.EVEN, Level.IMAGE);
        try (Generator g = Generator.create(Device.CPU, 3); TensorScope scope = TensorScope.open();
             ShakeResNeXt net = new ShakeResNeXt(2, 4, 4, 10, ShakeCoefficients.drawn(even, g), init(g));
             Sgd sgd = new Sgd(net.parameters(), new Sgd.Options(0.9, 0, 0, true))) {
            Tensor images = Tensor.randn(0, 1, DType.FLOAT32, Device.CPU, g, 32, 3, 32, 32);
            long[] classes = new long[32];
            for (int i = 0; i < classes.length; i++) classes[i] = (i * 7) % 10;
            Tensor labels = Tensor.fromLongs(classes, 32);
            double[] losses = new double[30];
            for (int step = 0; step < losses.length; step++) {
                try (TensorScope stepScope = TensorScope.open()) {
                    net.zeroGrad();
                    Tensor loss = Functional.crossEntropy(net.forward(images), labels);
                    loss.backward();
                    losses[step] = loss.item();
                    sgd.step(0.1);
                }
            }
            assertTrue(losses[0] > 2.0, "starts near ln 10: " + losses[0]);
            assertTrue(losses[29] < 0.1, "memorized: " + Arrays.toString(losses));
        }
    }

    private static double[] toDoubles(float[] values, int from, int to) {
        double[] out = new double[to - from];
        for (int i = from; i < to; i++) out[i - from] = values[i];
        return out;
    }
}
