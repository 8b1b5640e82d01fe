package dev.shakenet.nn;

import dev.shakenet.torch.DType;
import dev.shakenet.torch.Generator;
import dev.shakenet.torch.ShakeDrop;
import dev.shakenet.torch.ShakeDropCoefficients;
import dev.shakenet.torch.Tensor;

/**
 * One PyramidNet block with ShakeDrop: {@code shortcut(x) + G(F(x))}, no ReLU after the add.
 * F, the residual branch (Han et al., 2017; only one ReLU, and none before the first conv):
 * <pre>
 * basic:      bn1, conv1 3x3 (stride), bn2, ReLU, conv2 3x3, bn3                     -> width
 * bottleneck: bn1, conv1 1x1, bn2, ReLU, conv2 3x3 (stride), bn3, ReLU, conv3 1x1, bn4 -> 4*width
 * </pre>
 * G is ShakeDrop with survival probability {@code survival} (p_l): in training the coefficients
 * are drawn per image from {@code generator}, in evaluation G(f) = p_l * f. The shortcut is
 * {@link ZeroPadShortcut}: no parameters.
 */
final class PyramidBlock extends Module {
    /** The bottleneck's last 1x1 conv widens its branch by this factor. */
    static final int BOTTLENECK_EXPANSION = 4;

    private final BatchNorm2d[] norms;
    private final Conv2d[] convs;
    private final int stride;
    private final int outChannels;
    private final double survival;
    private final Generator generator;
    /** Test hook (null: draw from the generator): see {@link #giveCoefficients}. */
    private java.util.function.Function<Tensor, ShakeDropCoefficients> given;

    PyramidBlock(int in, int width, int stride, boolean bottleneck, double survival, Generator generator, Init init) {
        this.stride = stride;
        this.survival = survival;
        this.generator = generator;
        if (bottleneck) {
            outChannels = BOTTLENECK_EXPANSION * width;
            norms = new BatchNorm2d[4];
            convs = new Conv2d[3];
            norms[0] = registerModule("bn1", new BatchNorm2d(in, init));
            convs[0] = registerModule("conv1", new Conv2d(in, width, 1, 1, 0, init));
            norms[1] = registerModule("bn2", new BatchNorm2d(width, init));
            convs[1] = registerModule("conv2", new Conv2d(width, width, 3, stride, 1, init));
            norms[2] = registerModule("bn3", new BatchNorm2d(width, init));
            convs[2] = registerModule("conv3", new Conv2d(width, outChannels, 1, 1, 0, init));
            norms[3] = registerModule("bn4", new BatchNorm2d(outChannels, init));
        } else {
            outChannels = width;
            norms = new BatchNorm2d[3];
            convs = new Conv2d[2];
            norms[0] = registerModule("bn1", new BatchNorm2d(in, init));
            convs[0] = registerModule("conv1", new Conv2d(in, width, 3, stride, 1, init));
            norms[1] = registerModule("bn2", new BatchNorm2d(width, init));
            convs[1] = registerModule("conv2", new Conv2d(width, width, 3, 1, 1, init));
            norms[2] = registerModule("bn3", new BatchNorm2d(width, init));
        }
        if (in > outChannels) throw new IllegalArgumentException("a block cannot narrow: " + in + " -> " + outChannels);
    }

    /** (N,in,H,W) -> (N,out,H/stride,W/stride); the caller keeps x. */
    Tensor forward(Tensor x) {
        try (Tensor f = branch(x);
             Tensor shaken = shake(f);
             Tensor identity = shortcut(x)) {
            return identity.add(shaken);
        }
    }

    /** G(f): ShakeDrop with fresh per-image coefficients in training, p_l * f in evaluation. */
    private Tensor shake(Tensor f) {
        if (!isTraining()) return ShakeDrop.evaluate(f, survival);
        // float32 draws for float32 and reduced precision alike: one random stream for both.
        DType dtype = f.dtype() == DType.FLOAT64 ? DType.FLOAT64 : DType.FLOAT32;
        try (ShakeDropCoefficients c = given != null ? given.apply(f) : ShakeDropCoefficients.draw(f.size(0), survival, dtype, f.device(), generator)) {
            return ShakeDrop.apply(f, c);
        }
    }

    /** F(x), the residual branch; BN, conv pairs with a ReLU before every conv but the first. */
    Tensor branch(Tensor x) {
        Tensor h = norms[0].forward(x);
        for (int i = 0; i < convs.length; i++) {
            try (Tensor normed = h; Tensor in = i == 0 ? null : normed.relu(); Tensor c = convs[i].forward(i == 0 ? normed : in)) {
                h = norms[i + 1].forward(c);
            }
        }
        return h;
    }

    /**
     * For tests only (FamilyGoldenTest): in training, take this block's ShakeDrop coefficients
     * from {@code source} (called with the branch output f; it returns new tensors on f's device
     * and dtype, which the block closes after use) instead of drawing them; null restores drawing.
     */
    void giveCoefficients(java.util.function.Function<Tensor, ShakeDropCoefficients> source) {
        this.given = source;
    }

    /** The parameter-free shortcut of this block. */
    Tensor shortcut(Tensor x) {
        return ZeroPadShortcut.apply(x, stride, outChannels);
    }

    int outChannels() {
        return outChannels;
    }

    int stride() {
        return stride;
    }

    /** p_l, this block's survival probability. */
    double survival() {
        return survival;
    }
}
