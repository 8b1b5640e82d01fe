package dev.shakenet.nn;

import dev.shakenet.torch.Functional;
import dev.shakenet.torch.Generator;
import dev.shakenet.torch.ShakeDrop;
import dev.shakenet.torch.Tensor;
import dev.shakenet.torch.TensorScope;
import java.util.ArrayList;
import java.util.List;

/**
 * PyramidNet-{depth} (alpha) for 32x32 images (Han et al., 2017) with ShakeDrop on every block
 * (Yamada et al., 2018): a stem (conv 3x3 3->16, BN), three stages of n {@link PyramidBlock}s at
 * strides 1, 2, 2 (the stride on each stage's first block), then BN, ReLU, global average
 * pooling and a linear classifier. n = (depth-2)/6 for basic blocks, (depth-2)/9 for bottlenecks.
 * <p>
 * Widths grow additively over all L = 3n blocks: block k (1..L) has width
 * {@code floor(16 + k*alpha/L)} (the papers use whole alphas; the config's is a double);
 * a bottleneck block outputs 4x its width. Block k's ShakeDrop survival is
 * p_k = 1 - (k/L)(1 - 0.5). Parameter names (nn.ModuleList of nn.Sequential style):
 * <pre>
 * stem.conv.weight, stem.bn.{weight,bias,running_mean,running_var,num_batches_tracked}
 * stages.{0,1,2}.{i}.conv{1,2}.weight, stages.{s}.{i}.bn{1,2,3}.*            (basic)
 * stages.{0,1,2}.{i}.conv{1,2,3}.weight, stages.{s}.{i}.bn{1,2,3,4}.*        (bottleneck)
 * final_bn.*, fc.weight, fc.bias
 * </pre>
 */
public final class PyramidNet extends Network {
    /** The stem's width, where the pyramid starts. */
    static final int STEM_CHANNELS = 16;

    private final Module stem;
    private final Conv2d stemConv;
    private final BatchNorm2d stemBn;
    private final List<PyramidBlock> blocks = new ArrayList<>();
    private final BatchNorm2d finalBn;
    private final Linear fc;

    /**
     * @param alpha how much wider the last block is than the stem (the paper's alpha, e.g. 270 or 200)
     * @param shakeDrop where the ShakeDrop coefficients are drawn from in training (on the parameters' device)
     * @param init where parameters go, their dtype, and the generator their initial values come from
     */
    public PyramidNet(int depth, double alpha, boolean bottleneck, int classes, Generator shakeDrop, Init init) {
        int[] widths = widths(depth, alpha, bottleneck);
        if (classes < 1) throw new IllegalArgumentException("classes must be at least 1, got " + classes);
        int perStage = widths.length / 3;
        try (TensorScope construction = TensorScope.open()) { // frees initialization temporaries
            stem = registerModule("stem", new Module() {});
            stemConv = stem.registerModule("conv", new Conv2d(3, STEM_CHANNELS, 3, 1, 1, init));
            stemBn = stem.registerModule("bn", new BatchNorm2d(STEM_CHANNELS, init));
            Module stages = registerModule("stages", new Module() {});
            int in = STEM_CHANNELS;
            for (int s = 0; s < 3; s++) {
                Module stage = stages.registerModule(String.valueOf(s), new Module() {});
                for (int i = 0; i < perStage; i++) {
                    int l = s * perStage + i + 1; // 1..L over the whole net
                    int stride = s > 0 && i == 0 ? 2 : 1;
                    double survival = ShakeDrop.survival(l, widths.length, ShakeDrop.LAST_SURVIVAL);
                    PyramidBlock block = new PyramidBlock(in, widths[l - 1], stride, bottleneck, survival, shakeDrop, init);
                    blocks.add(stage.registerModule(String.valueOf(i), block));
                    in = block.outChannels();
                }
            }
            finalBn = registerModule("final_bn", new BatchNorm2d(in, init));
            fc = registerModule("fc", new Linear(in, classes, init));
        }
    }

    /**
     * The width of each block k = 1..L, in order: floor(16 + k*alpha/L), L = 3n.
     *
     * @throws IllegalArgumentException for a depth that is not 6n+2 (basic) or 9n+2 (bottleneck), n >= 1, or alpha < 0
     */
    public static int[] widths(int depth, double alpha, boolean bottleneck) {
        int perBlock = bottleneck ? 9 : 6;
        if (depth < perBlock + 2 || (depth - 2) % perBlock != 0) {
            throw new IllegalArgumentException("depth must be " + perBlock + "n+2 with n >= 1 for " + (bottleneck ? "bottleneck" : "basic")
                    + " blocks (" + (perBlock + 2) + ", " + (2 * perBlock + 2) + ", ...), got " + depth);
        }
        if (!(alpha >= 0) || Double.isInfinite(alpha)) throw new IllegalArgumentException("alpha must be finite and >= 0, got " + alpha);
        int total = 3 * ((depth - 2) / perBlock);
        int[] widths = new int[total];
        // For a whole alpha, k*alpha is exact and a non-whole quotient lies at least 1/L from an
        // integer, so the double division cannot push floor() across one.
        for (int k = 1; k <= total; k++) widths[k - 1] = STEM_CHANNELS + (int) Math.floor(k * alpha / total);
        return widths;
    }

    /** Images (N,3,32,32) -> logits (N,classes). */
    @Override
    public Tensor forward(Tensor images) {
        Tensor x = stem(images);                  // (N,16,32,32)
        for (PyramidBlock block : blocks) {       // widening; 32x32, 16x16, 8x8
            try (Tensor in = x) {
                x = block.forward(in);
            }
        }
        try (Tensor last = x) {
            return head(last);
        }
    }

    @Override
    public int classes() {
        return fc.outFeatures();
    }

    /** conv 3x3 and BN, no ReLU (the first block starts with its own BN). */
    Tensor stem(Tensor images) {
        try (Tensor c = stemConv.forward(images)) {
            return stemBn.forward(c);
        }
    }

    /** BN, ReLU, global average pooling and the classifier; the caller keeps x. */
    Tensor head(Tensor x) {
        try (Tensor n = finalBn.forward(x); Tensor h = n.relu(); Tensor pooled = Functional.globalAvgPool2d(h)) {
            return fc.forward(pooled);
        }
    }

    /** The blocks in forward order (block l = index + 1). */
    List<PyramidBlock> blocks() {
        return List.copyOf(blocks);
    }
}
