package dev.shakenet.torch;

import static dev.shakenet.torch.Tensor.handleOf;
import static dev.shakenet.torch.Tensor.own;
import static dev.shakenet.torch.ffi.shakenet_h.*;
import static java.lang.foreign.ValueLayout.ADDRESS;

import java.lang.foreign.MemorySegment;
import java.util.List;

/** The network ops of a Shake-Shake ResNet, named as in torch.nn.functional. Optional arguments may be null. */
public final class Functional {
    static {
        NativeLibrary.ensureLoaded();
    }

    private Functional() {}

    /** input (N,C,H,W), weight (O,C/groups,kH,kW), bias (O) or null -> (N,O,H',W'). */
    public static Tensor conv2d(Tensor input, Tensor weight, Tensor bias, int stride, int padding) {
        return conv2d(input, weight, bias, stride, stride, padding, padding, 1);
    }

    public static Tensor conv2d(Tensor input, Tensor weight, Tensor bias, int strideH, int strideW, int padH, int padW, int groups) {
        return own(Native.handle((arena, out) -> sn_conv2d(input.handle(), weight.handle(), handleOf(bias), strideH, strideW, padH, padW,
                groups, out)));
    }

    /**
     * Batch normalization over dimension 1. In training it normalizes with the batch statistics
     * and updates {@code runningMean}/{@code runningVar} in place
     * (new = (1-momentum)*old + momentum*batch, unbiased variance); in eval it uses them.
     */
    public static Tensor batchNorm(Tensor input, Tensor weight, Tensor bias, Tensor runningMean, Tensor runningVar,
                                   boolean training, double momentum, double eps) {
        return own(Native.handle((arena, out) -> sn_batch_norm(input.handle(), handleOf(weight), handleOf(bias),
                handleOf(runningMean), handleOf(runningVar), training ? 1 : 0, momentum, eps, out)));
    }

    public static Tensor relu(Tensor input) {
        return input.relu();
    }

    /**
     * The projection shortcut's two paths' inputs side by side, (N,C,H,W) -> (N,2C,ceil(H/s),ceil(W/s)):
     * input[:, :, ::s, ::s], then the input shifted by one pixel (first row and column dropped, last
     * ones zero) sampled the same way: F.pad(input[:, :, 1:, 1:], (0, 1, 0, 1))[:, :, ::s, ::s].
     */
    public static Tensor shortcutSamples(Tensor input, int stride) {
        return own(Native.handle((arena, out) -> sn_shortcut_samples(input.handle(), stride, out)));
    }

    /** (N,C,H,W) -> (N,C), the mean over H and W. */
    public static Tensor globalAvgPool2d(Tensor input) {
        return own(Native.handle((arena, out) -> sn_global_avg_pool2d(input.handle(), out)));
    }

    /** input (N,in), weight (out,in), bias (out) or null -> (N,out). */
    public static Tensor linear(Tensor input, Tensor weight, Tensor bias) {
        return own(Native.handle((arena, out) -> sn_linear(input.handle(), weight.handle(), handleOf(bias), out)));
    }

    /** Mean cross-entropy of logits (N,K) against int64 class indices (N). */
    public static Tensor crossEntropy(Tensor logits, Tensor targets) {
        return own(Native.handle((arena, out) -> sn_cross_entropy(logits.handle(), targets.handle(), out)));
    }

    public static Tensor argmax(Tensor input, int dim) {
        return own(Native.handle((arena, out) -> sn_argmax(input.handle(), dim, out)));
    }

    /** How many rows of logits (N,K) have argmax equal to targets (N): an int64 scalar on the logits' device. */
    public static Tensor countCorrect(Tensor logits, Tensor targets) {
        return own(Native.handle((arena, out) -> sn_count_correct(logits.handle(), targets.handle(), out)));
    }

    public static Tensor cat(List<Tensor> tensors, int dim) {
        return own(Native.handle((arena, out) -> {
            MemorySegment list = arena.allocate(ADDRESS, Math.max(tensors.size(), 1));
            for (int i = 0; i < tensors.size(); i++) list.setAtIndex(ADDRESS, i, tensors.get(i).handle());
            return sn_cat(list, tensors.size(), dim, out);
        }));
    }
}
