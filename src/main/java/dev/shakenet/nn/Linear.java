package dev.shakenet.nn;

import dev.shakenet.torch.Functional;
import dev.shakenet.torch.Tensor;

/** y = x W^T + b; W ~ U(-1/sqrt(in), 1/sqrt(in)) (PyTorch's default), b = 0 (the paper's). */
public final class Linear extends Module {
    private final Tensor weight;
    private final Tensor bias;

    public Linear(int in, int out, Init init) {
        weight = registerParameter("weight", init.uniform(1 / Math.sqrt(in), out, in));
        bias = registerParameter("bias", init.constant(0, out));
    }

    /** (N,in) -> (N,out) */
    public Tensor forward(Tensor x) {
        return Functional.linear(x, weight, bias);
    }

    /** How many outputs (classes, for the classifier). */
    public int outFeatures() {
        return (int) weight.size(0);
    }
}
