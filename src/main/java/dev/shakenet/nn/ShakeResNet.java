package dev.shakenet.nn;

import dev.shakenet.torch.Functional;
import dev.shakenet.torch.Generator;
import dev.shakenet.torch.ShakeShake;
import dev.shakenet.torch.Tensor;
import dev.shakenet.torch.TensorScope;

/**
 * Shake-Shake-{depth} 2x{width}d for 32x32 images (PAPER.md): a stem (conv 3x3 3->16, BN, no
 * ReLU), three stages of (depth-2)/6 shake blocks of widths K, 2K, 4K at strides 1, 2, 2, then
 * ReLU, global average pooling and a linear classifier. Parameter names:
 * <pre>
 * stem.conv.weight, stem.bn.{weight,bias,running_mean,running_var,num_batches_tracked}
 * stage{1,2,3}.{i}.branch{1,2}.{conv1,conv2}.weight, stage{s}.{i}.branch{b}.{bn1,bn2}.*
 * stage{1,2,3}.0.shortcut.{conv1,conv2}.weight, stage{s}.0.shortcut.bn.*
 * fc.weight, fc.bias
 * </pre>
 */
public final class ShakeResNet extends Module {
    private final Stem stem;
    private final Stage[] stages = new Stage[3];
    private final Linear fc;
    private final Generator shakeGenerator;

    /**
     * @param shakeGenerator draws the shake coefficients during training (on the model's device)
     * @param init where parameters go and the generator their initial values come from
     */
    public ShakeResNet(int depth, int width, int classes, Shake shake, Generator shakeGenerator, Init init) {
        if (depth < 8 || (depth - 2) % 6 != 0) {
            throw new IllegalArgumentException("depth must be 6n+2 with n >= 1 (8, 14, 20, 26, ...), got " + depth);
        }
        if (width < 2 || width % 2 != 0) throw new IllegalArgumentException("width must be even and >= 2, got " + width);
        this.shakeGenerator = shakeGenerator;
        int blocks = (depth - 2) / 6;
        try (TensorScope construction = TensorScope.open()) { // frees initialization temporaries
            stem = registerModule("stem", new Stem(init));
            int in = Stem.CHANNELS;
            for (int s = 0; s < 3; s++) {
                int out = width << s;
                stages[s] = registerModule("stage" + (s + 1), new Stage(in, out, s == 0 ? 1 : 2, blocks, shake, shakeGenerator, init));
                in = out;
            }
            fc = registerModule("fc", new Linear(in, classes, init));
        }
    }

    /** Images (N,3,32,32) -> logits (N,classes). Intermediates are closed once consumed (see ResidualBranch). */
    public Tensor forward(Tensor images) {
        Tensor x = stem.forward(images);                             // (N,16,32,32)
        Tensor h = x.relu();
        for (Stage stage : stages) {                                 // (N,K,32,32) (N,2K,16,16) (N,4K,8,8)
            ShakeShake.BlockOutput next = stage.forward(x, h);
            x.close();
            h.close();
            x = next.out();
            h = next.outRelu();
        }
        x.close(); // only its ReLU goes on
        try (Tensor last = h; Tensor pooled = Functional.globalAvgPool2d(last)) { // (N,4K)
            return fc.forward(pooled);
        }
    }

    /** The classifier's outputs: one logit per class. */
    public int classes() {
        return (int) fc.namedParameters().get("bias").shape()[0];
    }

    /** The generator of the shake coefficients (its state belongs in checkpoints). */
    public Generator shakeGenerator() {
        return shakeGenerator;
    }

    /** conv 3x3 3->16 and BN, no ReLU. */
    static final class Stem extends Module {
        static final int CHANNELS = 16;
        private final Conv2d conv;
        private final BatchNorm2d bn;

        Stem(Init init) {
            conv = registerModule("conv", new Conv2d(3, CHANNELS, 3, 1, 1, init));
            bn = registerModule("bn", new BatchNorm2d(CHANNELS, init));
        }

        Tensor forward(Tensor x) {
            try (Tensor c = conv.forward(x)) {
                return bn.forward(c);
            }
        }
    }

    /** Blocks named 0..n-1 (like nn.Sequential); the first changes width and stride. */
    static final class Stage extends Module {
        private final ShakeBlock[] blocks;

        Stage(int in, int out, int stride, int count, Shake shake, Generator generator, Init init) {
            blocks = new ShakeBlock[count];
            for (int i = 0; i < count; i++) {
                blocks[i] = registerModule(String.valueOf(i), new ShakeBlock(i == 0 ? in : out, out, i == 0 ? stride : 1, shake, generator, init));
            }
        }

        /**
         * The caller keeps its inputs; every block output but the last is closed once the next
         * block has it. Outputs passed between the stage's own blocks may be blocked (the next
         * block has an identity shortcut); the stage's output is in the ordinary layout.
         */
        ShakeShake.BlockOutput forward(Tensor x, Tensor h) {
            ShakeShake.BlockOutput current = new ShakeShake.BlockOutput(x, h);
            for (int i = 0; i < blocks.length; i++) {
                ShakeShake.BlockOutput next = blocks[i].forward(current.out(), current.outRelu(), i + 1 < blocks.length);
                if (current.out() != x) {
                    current.out().close();
                    current.outRelu().close();
                }
                current = next;
            }
            return current;
        }
    }
}
