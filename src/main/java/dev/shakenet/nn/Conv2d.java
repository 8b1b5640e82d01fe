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

    /**
     * first(x) and second(x) as one convolution (N,in,H,W) -> (N,2*out,H',W'), first's channels
     * then second's: one wider matrix product, and x's gradient comes out already summed.
     */
    static Tensor forwardPair(Conv2d first, Conv2d second, Tensor x, boolean blocked) {
        if (first.stride != second.stride || first.padding != second.padding) throw new IllegalArgumentException("convolutions differ in stride or padding");
        try (Tensor weight = Functional.cat(java.util.List.of(first.weight, second.weight), 0)) {
            return Functional.conv2d(x, weight, null, first.stride, first.padding, blocked);
        }
    }

    /**
     * first(x[:, :in]) and second(x[:, in:]) concatenated (N,2*out,H',W'), as one convolution
     * with the block-diagonal weight [[first, 0], [0, second]]: one matrix product in place of
     * two and a concatenation. Half its multiplications are by zero, so it suits small ones
     * such as the shortcut's 1x1 convolutions; the multiply-adds counted are the two convolutions'.
     */
    static Tensor forwardBlockDiagonal(Conv2d first, Conv2d second, Tensor x) {
        if (first.stride != second.stride || first.padding != second.padding || !java.util.Arrays.equals(first.weight.shape(), second.weight.shape())) {
            throw new IllegalArgumentException("block-diagonal convolutions need equal shapes, strides and padding");
        }
        try (Tensor zero = Tensor.zeros(first.weight.dtype(), first.weight.device(), first.weight.shape());
             Tensor top = Functional.cat(java.util.List.of(first.weight, zero), 1);
             Tensor bottom = Functional.cat(java.util.List.of(zero, second.weight), 1);
             Tensor weight = Functional.cat(java.util.List.of(top, bottom), 0)) {
            return Functional.conv2d(x, weight, null, first.stride, first.padding, false);
        }
    }

    /** (N,in,H,W) -> (N,out,H',W') */
    public Tensor forward(Tensor x) {
        return forward(x, false);
    }

    /** With {@code blocked}, in the shim's blocked layout (Functional.conv2d): x and the result may be blocked. */
    Tensor forward(Tensor x, boolean blocked) {
        return Functional.conv2d(x, weight, null, stride, padding, blocked);
    }
}
