package dev.shakenet.nn;

import dev.shakenet.torch.CpuConvolution;
import dev.shakenet.torch.Generator;
import dev.shakenet.torch.ShakeShake;
import dev.shakenet.torch.Tensor;

/**
 * A Shake-Shake residual block: shortcut(x) + shake(branch1(x), branch2(x)), no ReLU after the
 * add. Both branches and the projection shortcut start with ReLU(x), computed once and shared;
 * the block hands the next one both its output and that output's ReLU.
 */
public final class ShakeBlock extends Module {
    private final ResidualBranch branch1;
    private final ResidualBranch branch2;
    private final ProjectionShortcut shortcut; // null: identity
    private final Shake shake;
    private final Generator generator;

    public ShakeBlock(int in, int out, int stride, Shake shake, Generator generator, Init init) {
        if (in == out && stride != 1) throw new IllegalArgumentException("an identity shortcut cannot have stride " + stride);
        this.shake = shake;
        this.generator = generator;
        branch1 = registerModule("branch1", new ResidualBranch(in, out, stride, init));
        branch2 = registerModule("branch2", new ResidualBranch(in, out, stride, init));
        shortcut = in == out ? null : registerModule("shortcut", new ProjectionShortcut(in, out, stride, init));
    }

    /**
     * (N,in,H,W) -> (N,out,H/s,W/s), with its ReLU: the block's output and the next block's input
     * come from one native op (shake combination, shortcut add and ReLU in one pass).
     *
     * @param x the block's input, needed by an identity shortcut (may be null before a projection)
     * @param h relu(x), computed once by the previous block and shared by branches and shortcut
     */
    public ShakeShake.BlockOutput forward(Tensor x, Tensor h) {
        return forward(x, h, false);
    }

    /**
     * {@link #forward(Tensor, Tensor)}; with {@code blockedOut}, the results may stay in the
     * shim's blocked layout (Functional.conv2d) where this block's end runs as one op, for a
     * next block with an identity shortcut: its convolutions read them without a layout change.
     */
    ShakeShake.BlockOutput forward(Tensor x, Tensor h, boolean blockedOut) {
        if (shortcut == null && x == null) throw new IllegalArgumentException("an identity block needs its input x, not only relu(x)");
        // CPU training runs both branches' conv1 as one convolution (ResidualBranch.forwardPair;
        // measured there). Evaluation keeps them apart, where the paired batch norm would slice,
        // and so does CUDA, where the pairing has not been measured.
        boolean paired = isTraining() && !h.device().isCuda();
        if (paired && CpuConvolution.isWinograd()) {
            // With Winograd on, the branches keep their activations in oneDNN's blocked layout
            // between convolutions, and their bn2s fold into the block end (one op, no bn2 outputs).
            // With the direct algorithm the layout changes would cost more than they save.
            Tensor[] convs = ResidualBranch.convPair(branch1, branch2, h, true);
            try (Tensor a = convs[0]; Tensor b = convs[1]; Tensor projected = shortcut == null ? null : shortcut.forward(h)) {
                return BatchNorm2d.shakeAddRelu(branch1.bn2(), branch2.bn2(), a, b, shortcut == null ? x : projected, shake, generator,
                        blockedOut);
            }
        }
        Tensor[] branches = paired ? ResidualBranch.forwardPair(branch1, branch2, h)
                : new Tensor[] {branch1.forward(h), branch2.forward(h)};
        try (Tensor a = branches[0]; Tensor b = branches[1]; Tensor projected = shortcut == null ? null : shortcut.forward(h)) {
            return ShakeShake.combineAddRelu(a, b, shortcut == null ? x : projected, shake.forward(), shake.backward(), shake.level(),
                    isTraining(), generator);
        }
    }
}
