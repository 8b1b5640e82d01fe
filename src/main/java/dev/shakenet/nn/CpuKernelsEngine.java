package dev.shakenet.nn;

import dev.shakenet.torch.CpuKernels;
import dev.shakenet.torch.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The CPU kernels' training forward: the stem's convolution and the head as the reference runs
 * them, the stem's batch norm by the kernels, each stage as one native call
 * (CpuKernels.shakeStage) given the stage's tensors, with the shake coefficients drawn here in
 * the reference's order (so both engines draw the same ones).
 */
public final class CpuKernelsEngine implements Engine {
    static final CpuKernelsEngine INSTANCE = new CpuKernelsEngine();

    private static final List<String> BRANCH = List.of("conv1.weight", "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var",
            "conv2.weight", "bn2.weight", "bn2.bias", "bn2.running_mean", "bn2.running_var");
    private static final List<String> SHORTCUT = List.of("conv1.weight", "conv2.weight", "bn.weight", "bn.bias", "bn.running_mean",
            "bn.running_var");

    private CpuKernelsEngine() {}

    static boolean available() {
        return CpuKernels.available();
    }

    @Override
    public String name() {
        return "cpu_kernels";
    }

    @Override
    public Tensor forward(Network network, Tensor images) {
        if (!network.isTraining()) return network.forward(images);
        if (!(network instanceof ShakeResNet model)) {
            throw new IllegalArgumentException("the CPU kernels run Shake-Shake 2xKd only, not " + network.getClass().getSimpleName());
        }
        Tensor x = stem(model.stem(), images);
        Tensor h = null;
        for (ShakeResNet.Stage stage : model.stages()) {
            Tensor[] next;
            try (Tensor in = x; Tensor inRelu = h) {
                next = stage(stage, in, inRelu);
            }
            x = next[0];
            h = next[1];
        }
        try (Tensor last = x; Tensor lastRelu = h) {
            return model.classify(lastRelu);
        }
    }

    @Override
    public boolean onePassSgd() {
        return true;
    }

    private static Tensor stem(ShakeResNet.Stem stem, Tensor images) {
        try (Tensor c = stem.conv().forward(images)) {
            stem.bn().countBatch();
            List<Tensor> bn = stem.bn().normTensors();
            return CpuKernels.batchNorm(c, bn.get(0), bn.get(1), bn.get(2), bn.get(3), BatchNorm2d.MOMENTUM, BatchNorm2d.EPS);
        }
    }

    /** {out, relu(out)} of one stage; every batch norm in it counts the batch, as the reference's do. */
    private static Tensor[] stage(ShakeResNet.Stage stage, Tensor x, Tensor xRelu) {
        List<Tensor> tensors = new ArrayList<>();
        List<ShakeCoefficients.Pair> coefficients = new ArrayList<>();
        try {
            for (ShakeBlock block : stage.blocks()) {
                Map<String, Tensor> state = block.stateDict();
                for (String branch : List.of("branch1.", "branch2.")) {
                    for (String name : BRANCH) tensors.add(state.get(branch + name));
                }
                for (String name : SHORTCUT) tensors.add(block.projects() ? state.get("shortcut." + name) : null);
                ShakeCoefficients.Pair c = block.coefficients().next(x);
                coefficients.add(c);
                tensors.add(c.alpha());
                tensors.add(c.beta());
                state.forEach((name, t) -> {
                    if (name.endsWith("num_batches_tracked")) t.addInPlace(1);
                });
            }
            return CpuKernels.shakeStage(x, xRelu, stage.blocks().size(), stage.stride(), tensors, BatchNorm2d.MOMENTUM, BatchNorm2d.EPS);
        } finally {
            coefficients.forEach(ShakeCoefficients.Pair::close);
        }
    }
}
