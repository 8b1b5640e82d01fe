package dev.shakenet.nn;

import dev.shakenet.torch.Functional;
import dev.shakenet.torch.Tensor;

/** A k x k convolution without bias, initialized N(0, sqrt(2 / (k*k*out))) as in the paper. */
public final class Conv2d extends Module {
    private final Tensor weight;
    private final int stride;
    private final int padding;

    public Conv2d(int in, int out, int kernel, int stride, int padding, Init init) {
        this.stride = stride;
        this.padding = padding;
        weight = registerParameter("weight", init.normal(Math.sqrt(2.0 / (kernel * kernel * out)), out, in, kernel, kernel));
    }

    /** (N,in,H,W) -> (N,out,H',W') */
    public Tensor forward(Tensor x) {
        return Functional.conv2d(x, weight, null, stride, padding);
    }

    Tensor weight() {
        return weight;
    }
}
