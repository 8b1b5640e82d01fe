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
        return conv2d(input, weight, bias, strideH, strideW, padH, padW, groups, false);
    }

    /**
     * {@link #conv2d}; with {@code blocked}, the call works in the shim's blocked layout (see
     * native/include/shakenet.h): a (N,C/16,H,W,16) input is read as the blocked form of a
     * (N,C,H,W) one, and the result may come blocked, meant only as the input of the next such
     * convolution or {@link #batchNorm}, which read it without a layout change.
     */
    public static Tensor conv2d(Tensor input, Tensor weight, Tensor bias, int stride, int padding, boolean blocked) {
        return conv2d(input, weight, bias, stride, stride, padding, padding, 1, blocked);
    }

    private static Tensor conv2d(Tensor input, Tensor weight, Tensor bias, int strideH, int strideW, int padH, int padW, int groups,
                                 boolean blocked) {
        return own(Native.handle((arena, out) -> sn_conv2d(input.handle(), weight.handle(), handleOf(bias), strideH, strideW, padH, padW,
                groups, blocked ? 1 : 0, out)));
    }

    /**
     * Batch normalization over dimension 1. In training it normalizes with the batch statistics
     * and updates {@code runningMean}/{@code runningVar} in place
     * (new = (1-momentum)*old + momentum*batch, unbiased variance); in eval it uses them.
     */
    public static Tensor batchNorm(Tensor input, Tensor weight, Tensor bias, Tensor runningMean, Tensor runningVar,
                                   boolean training, double momentum, double eps) {
        return batchNorm(input, weight, bias, runningMean, runningVar, training, false, momentum, eps);
    }

    /**
     * {@link #batchNorm} followed by ReLU when {@code relu}. On the CPU, training on channels_last
     * float32/bfloat16 activations runs the shim's own kernels, with the ReLU in the same pass.
     */
    public static Tensor batchNorm(Tensor input, Tensor weight, Tensor bias, Tensor runningMean, Tensor runningVar,
                                   boolean training, boolean relu, double momentum, double eps) {
        return batchNorm(input, weight, bias, runningMean, runningVar, training, relu, momentum, eps, false);
    }

    /** {@link #batchNorm}; with {@code blocked}, in the blocked layout (see {@link #conv2d(Tensor, Tensor, Tensor, int, int, boolean)}). */
    public static Tensor batchNorm(Tensor input, Tensor weight, Tensor bias, Tensor runningMean, Tensor runningVar,
                                   boolean training, boolean relu, double momentum, double eps, boolean blocked) {
        return own(Native.handle((arena, out) -> sn_batch_norm(input.handle(), handleOf(weight), handleOf(bias),
                handleOf(runningMean), handleOf(runningVar), training ? 1 : 0, relu ? 1 : 0, momentum, eps, blocked ? 1 : 0, out)));
    }

    /**
     * Two batch norms side by side (the shim's sn_batch_norm_pair): {@code input} (N,2C,H,W) holds
     * the first's C channels, then the second's; each half is normalized with its own parameters
     * and running statistics, ReLU'd when {@code relu}, and returned as its own (N,C,H,W) tensor.
     */
    public static Tensor[] batchNormPair(Tensor input, Tensor weight1, Tensor bias1, Tensor runningMean1, Tensor runningVar1,
                                         Tensor weight2, Tensor bias2, Tensor runningMean2, Tensor runningVar2, boolean training,
                                         boolean relu, double momentum, double eps) {
        return batchNormPair(input, weight1, bias1, runningMean1, runningVar1, weight2, bias2, runningMean2, runningVar2, training, relu,
                momentum, eps, false);
    }

    /** {@link #batchNormPair}; with {@code blocked}, in the blocked layout (its halves may come blocked). */
    public static Tensor[] batchNormPair(Tensor input, Tensor weight1, Tensor bias1, Tensor runningMean1, Tensor runningVar1,
                                         Tensor weight2, Tensor bias2, Tensor runningMean2, Tensor runningVar2, boolean training,
                                         boolean relu, double momentum, double eps, boolean blocked) {
        MemorySegment[] outputs = Native.handles(2, (arena, out) -> sn_batch_norm_pair(input.handle(), weight1.handle(),
                bias1.handle(), runningMean1.handle(), runningVar1.handle(), weight2.handle(), bias2.handle(), runningMean2.handle(),
                runningVar2.handle(), training ? 1 : 0, relu ? 1 : 0, momentum, eps, blocked ? 1 : 0, out[0], out[1]));
        return new Tensor[] {own(outputs[0]), own(outputs[1])};
    }

    public static Tensor relu(Tensor input) {
        return input.relu();
    }

    /** out[:, :, i, j] = input[:, :, i+1, j+1], zero in the last row and column (the shortcut's second path). */
    public static Tensor shiftPixel(Tensor input) {
        return own(Native.handle((arena, out) -> sn_shift_pixel(input.handle(), out)));
    }

    /**
     * The projection shortcut's two paths' inputs side by side, (N,C,H,W) -> (N,2C,ceil(H/s),ceil(W/s)):
     * input[:, :, ::s, ::s], then shiftPixel(input)[:, :, ::s, ::s].
     */
    public static Tensor shortcutSamples(Tensor input, int stride) {
        return own(Native.handle((arena, out) -> sn_shortcut_samples(input.handle(), stride, out)));
    }

    public static Tensor avgPool2d(Tensor input, int kernel, int stride, int padding) {
        return own(Native.handle((arena, out) -> sn_avg_pool2d(input.handle(), kernel, kernel, stride, stride, padding, padding, out)));
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
