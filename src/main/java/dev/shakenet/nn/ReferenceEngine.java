package dev.shakenet.nn;

import dev.shakenet.torch.Tensor;

/** The model's own forward (ShakeBlock, ResidualBranch, ...) on thin libtorch ops, on any device. */
public final class ReferenceEngine implements Engine {
    static final ReferenceEngine INSTANCE = new ReferenceEngine();

    private ReferenceEngine() {}

    @Override
    public String name() {
        return "reference";
    }

    @Override
    public Tensor forward(Network model, Tensor images) {
        return model.forward(images);
    }

    @Override
    public boolean onePassSgd() {
        return false;
    }
}
