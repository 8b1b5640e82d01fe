package dev.shakenet.nn;

import dev.shakenet.torch.Functional;
import dev.shakenet.torch.Tensor;
import java.util.List;

/**
 * PyramidNet's parameter-free shortcut (Han et al., 2017): the identity, 2x2 average pooling with
 * stride 2 where the block downsamples, and zeros for the channels the block adds.
 * The shim has no avg_pool2d or channel pad, so both are composed from ops it has: the pooling
 * is a depthwise convolution with a constant 1/4 kernel (no gradient to any weight), the padding
 * a concatenation with zeros. Both work in any dtype, device and memory format.
 */
final class ZeroPadShortcut {
    private ZeroPadShortcut() {}

    /** x (N,C,H,W) -> a new (N,out,H/stride,W/stride), out >= C; the caller keeps x. */
    static Tensor apply(Tensor x, int stride, int out) {
        if (out < x.size(1)) throw new IllegalArgumentException("a zero-padded shortcut cannot drop channels: " + x.size(1) + " -> " + out);
        if (stride == 1) return padChannels(x, out);
        if (stride != 2) throw new IllegalArgumentException("stride must be 1 or 2, got " + stride);
        try (Tensor pooled = averagePool2x2(x)) {
            return padChannels(pooled, out);
        }
    }

    /** (N,C,H,W) -> a new (N,out,H,W): x, then out-C channels of zeros. */
    static Tensor padChannels(Tensor x, int out) {
        long missing = out - x.size(1);
        if (missing == 0) return x.add(0.0); // a tensor of its own (with x's gradient path), as the caller closes it
        try (Tensor zeros = Tensor.zeros(x.dtype(), x.device(), x.size(0), missing, x.size(2), x.size(3))) {
            return Functional.cat(List.of(x, zeros), 1);
        }
    }

    /** avg_pool2d(x, 2, 2): each output pixel the mean of a 2x2 patch (odd edges dropped, as PyTorch does). */
    static Tensor averagePool2x2(Tensor x) {
        int channels = (int) x.size(1);
        try (Tensor quarter = Tensor.full(0.25, x.dtype(), x.device(), channels, 1, 2, 2)) {
            return Functional.conv2d(x, quarter, null, 2, 2, 0, 0, channels);
        }
    }
}
