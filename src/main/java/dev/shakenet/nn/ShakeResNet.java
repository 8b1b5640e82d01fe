package dev.shakenet.nn;

import dev.shakenet.torch.Functional;
import dev.shakenet.torch.Tensor;
import dev.shakenet.torch.TensorScope;
import java.util.List;

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
public final class ShakeResNet extends Network {
    private final Stem stem;
    private final Stage[] stages = new Stage[3];
    private final Linear fc;

    /**
     * @param coefficients the shake coefficients in training (ShakeCoefficients.drawn for the paper's rules)
     * @param init where parameters go, their dtype, and the generator their initial values come from
     */
    public ShakeResNet(int depth, int width, int classes, ShakeCoefficients coefficients, Init init) {
        if (depth < 8 || (depth - 2) % 6 != 0) {
            throw new IllegalArgumentException("depth must be 6n+2 with n >= 1 (8, 14, 20, 26, ...), got " + depth);
        }
        if (width < 2 || width % 2 != 0) throw new IllegalArgumentException("width must be even and >= 2, got " + width);
        int blocks = (depth - 2) / 6;
        try (TensorScope construction = TensorScope.open()) { // frees initialization temporaries
            stem = registerModule("stem", new Stem(init));
            int in = Stem.CHANNELS;
            for (int s = 0; s < 3; s++) {
                int out = width << s;
                stages[s] = registerModule("stage" + (s + 1), new Stage(in, out, s == 0 ? 1 : 2, blocks, coefficients, init));
                in = out;
            }
            fc = registerModule("fc", new Linear(in, classes, init));
        }
    }

    /** Images (N,3,32,32) -> logits (N,classes). */
    public Tensor forward(Tensor images) {
        Tensor x = stem.forward(images);                             // (N,16,32,32)
        for (Stage stage : stages) {                                 // (N,K,32,32) (N,2K,16,16) (N,4K,8,8)
            try (Tensor in = x) {
                x = stage.forward(in);
            }
        }
        return head(x);
    }

    /** How many classes the classifier tells apart. */
    public int classes() {
        return fc.outFeatures();
    }

    Stem stem() {
        return stem;
    }

    List<Stage> stages() {
        return List.of(stages);
    }

    /** ReLU, global average pooling and the classifier on the last stage's output; closes it. */
    private Tensor head(Tensor last) {
        try (last; Tensor h = last.relu()) {
            return classify(h);
        }
    }

    /** Global average pooling and the classifier on relu(last stage's output). */
    Tensor classify(Tensor lastRelu) {
        try (Tensor pooled = Functional.globalAvgPool2d(lastRelu)) { // (N,4K)
            return fc.forward(pooled);
        }
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

        Conv2d conv() {
            return conv;
        }

        BatchNorm2d bn() {
            return bn;
        }
    }

    /** Blocks named 0..n-1 (like nn.Sequential); the first changes width and stride. */
    static final class Stage extends Module {
        private final ShakeBlock[] blocks;
        private final int stride;

        Stage(int in, int out, int stride, int count, ShakeCoefficients coefficients, Init init) {
            this.stride = stride;
            blocks = new ShakeBlock[count];
            for (int i = 0; i < count; i++) {
                blocks[i] = registerModule(String.valueOf(i), new ShakeBlock(i == 0 ? in : out, out, i == 0 ? stride : 1, coefficients, init));
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

        List<ShakeBlock> blocks() {
            return List.of(blocks);
        }

        int stride() {
            return stride;
        }
    }
}
