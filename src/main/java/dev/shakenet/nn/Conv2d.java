package dev.shakenet.nn;

import dev.shakenet.torch.Functional;
import dev.shakenet.torch.Tensor;

/**
 * A k x k convolution without bias, initialized N(0, sqrt(2 / (k*k*out))) as in the paper (also
 * for grouped convolutions: the reference code's fan does not divide by the groups).
 */
public final class Conv2d extends Module {
    private final Tensor weight;
    private final int stride;
    private final int padding;
    private final int groups;

    public Conv2d(int in, int out, int kernel, int stride, int padding, Init init) {
        this(in, out, kernel, stride, padding, 1, init);
    }

    /** A grouped convolution: in and out split into {@code groups} parts, part g of out sees part g of in only. */
    public Conv2d(int in, int out, int kernel, int stride, int padding, int groups, Init init) {
        if (groups < 1 || in % groups != 0 || out % groups != 0) {
            throw new IllegalArgumentException("groups (" + groups + ") must divide in (" + in + ") and out (" + out + ")");
        }
        this.stride = stride;
        this.padding = padding;
        this.groups = groups;
        weight = registerParameter("weight", init.normal(Math.sqrt(2.0 / (kernel * kernel * out)), out, in / groups, kernel, kernel));
    }

    /** (N,in,H,W) -> (N,out,H',W') */
    public Tensor forward(Tensor x) {
        return Functional.conv2d(x, weight, null, stride, stride, padding, padding, groups);
    }

    Tensor weight() {
        return weight;
    }
}
