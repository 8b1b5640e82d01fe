package dev.shakenet.nn;

import dev.shakenet.torch.Functional;
import dev.shakenet.torch.Tensor;
import dev.shakenet.torch.TensorScope;

/**
 * Shake-Shake ResNeXt-29 2x{C}x{d}d for 32x32 images, the paper's CIFAR-100 model (2x4x64d), laid
 * out as the author's reference code (xgastaldi/shake-shake, models/shakeshake.lua, cifar100) does:
 * <ul>
 * <li>stem: conv 3x3 3->B, BN, ReLU (B = 64 in the reference);
 * <li>three stages of 3 {@link ShakeResNeXtBlock}s (29 = 3 x 3 blocks x 3 convs + stem + fc) at
 *     strides 1, 2, 2; stage s (0, 1, 2) has output width 4B·2^s (256, 512, 1024) and bottleneck
 *     width C·d·2^s (group width d·2^s: 64, 128, 256 for 64d, so 256, 512, 1024 with C = 4);
 * <li>each block ReLU(shortcut(x) + shake(branch1(x), branch2(x))), a branch conv 1x1 -> BN -> ReLU
 *     -> grouped conv 3x3 (C groups, the stride) -> BN -> ReLU -> conv 1x1 -> BN, the shortcut a
 *     1x1 conv with the stride and BN in each stage's first block (all three change the width);
 * <li>global average pooling and a linear classifier (no extra ReLU: the last block ends with one).
 * </ul>
 * Parameter names (PyTorch-style, as ShakeResNet's):
 * <pre>
 * stem.conv.weight, stem.bn.{weight,bias,running_mean,running_var,num_batches_tracked}
 * stage{1,2,3}.{0,1,2}.branch{1,2}.{conv1,conv2,conv3}.weight, stage{s}.{i}.branch{b}.{bn1,bn2,bn3}.*
 * stage{1,2,3}.0.shortcut.conv.weight, stage{s}.0.shortcut.bn.*
 * fc.weight, fc.bias
 * </pre>
 */
public final class ShakeResNeXt extends Network {
    /** The reference's stem width, B. */
    public static final int BASE_CHANNELS = 64;
    static final int BLOCKS_PER_STAGE = 3; // depth 29

    private final Stem stem;
    private final Stage[] stages = new Stage[3];
    private final Linear fc;

    /** ResNeXt-29 2x{cardinality}x{groupWidth}d with the reference's widths (2x4x64d: cardinality 4, group width 64). */
    public ShakeResNeXt(int cardinality, int groupWidth, int classes, ShakeCoefficients coefficients, Init init) {
        this(cardinality, groupWidth, BASE_CHANNELS, classes, coefficients, init);
    }

    /**
     * The same layout with stem width {@code baseChannels} in place of the reference's 64 (stage
     * outputs 4, 8 and 16 times it), for small variants.
     *
     * @param coefficients the shake coefficients in training (the paper's CIFAR-100 run: Shake-Even-Image)
     * @param init where parameters go, their dtype, and the generator their initial values come from
     */
    public ShakeResNeXt(int cardinality, int groupWidth, int baseChannels, int classes, ShakeCoefficients coefficients, Init init) {
        if (cardinality < 1) throw new IllegalArgumentException("cardinality must be >= 1, got " + cardinality);
        if (groupWidth < 1) throw new IllegalArgumentException("group width must be >= 1, got " + groupWidth);
        if (baseChannels < 1) throw new IllegalArgumentException("base channels must be >= 1, got " + baseChannels);
        try (TensorScope construction = TensorScope.open()) { // frees initialization temporaries
            stem = registerModule("stem", new Stem(baseChannels, init));
            int in = baseChannels;
            for (int s = 0; s < 3; s++) {
                int out = 4 * baseChannels << s;
                int width = cardinality * (groupWidth << s);
                stages[s] = registerModule("stage" + (s + 1), new Stage(in, width, out, cardinality, s == 0 ? 1 : 2, coefficients, init));
                in = out;
            }
            fc = registerModule("fc", new Linear(in, classes, init));
        }
    }

    /** Images (N,3,32,32) -> logits (N,classes). */
    @Override
    public Tensor forward(Tensor images) {
        Tensor x = stem.forward(images);                             // (N,B,32,32)
        for (Stage stage : stages) {                                 // (N,4B,32,32) (N,8B,16,16) (N,16B,8,8)
            try (Tensor in = x) {
                x = stage.forward(in);
            }
        }
        try (Tensor last = x; Tensor pooled = Functional.globalAvgPool2d(last)) {
            return fc.forward(pooled);
        }
    }

    @Override
    public int classes() {
        return fc.outFeatures();
    }

    /** conv 3x3 3->B, BN, ReLU (the reference's CIFAR-100 stem has the ReLU the 2xKd stem lacks). */
    private static final class Stem extends Module {
        private final Conv2d conv;
        private final BatchNorm2d bn;

        Stem(int channels, Init init) {
            conv = registerModule("conv", new Conv2d(3, channels, 3, 1, 1, init));
            bn = registerModule("bn", new BatchNorm2d(channels, init));
        }

        Tensor forward(Tensor x) {
            try (Tensor c = conv.forward(x); Tensor n = bn.forward(c)) {
                return n.relu();
            }
        }
    }

    /** Blocks named 0..2 (like nn.Sequential); the first changes width and stride. */
    private static final class Stage extends Module {
        private final ShakeResNeXtBlock[] blocks = new ShakeResNeXtBlock[BLOCKS_PER_STAGE];

        Stage(int in, int width, int out, int cardinality, int stride, ShakeCoefficients coefficients, Init init) {
            for (int i = 0; i < blocks.length; i++) {
                blocks[i] = registerModule(String.valueOf(i),
                        new ShakeResNeXtBlock(i == 0 ? in : out, width, out, cardinality, i == 0 ? stride : 1, coefficients, init));
            }
        }

        /** The blocks in order; the caller keeps x. */
        Tensor forward(Tensor x) {
            Tensor current = blocks[0].forward(x);
            for (int i = 1; i < blocks.length; i++) {
                try (Tensor in = current) {
                    current = blocks[i].forward(in);
                }
            }
            return current;
        }
    }
}
