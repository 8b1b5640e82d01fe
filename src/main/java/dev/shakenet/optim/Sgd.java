package dev.shakenet.optim;

import dev.shakenet.torch.ParameterUpdates;
import dev.shakenet.torch.Tensor;
import java.util.ArrayList;
import java.util.List;

/**
 * Stochastic gradient descent with exactly torch.optim.SGD's update rule: weight decay added to
 * the gradient, momentum buffers started at the first gradient, dampening, optional Nesterov.
 * The learning rate is given per step, so any schedule can drive it.
 */
public final class Sgd implements AutoCloseable {
    /** torch.optim.SGD's hyper-parameters other than the learning rate. */
    public record Options(double momentum, double dampening, double weightDecay, boolean nesterov) {
        public Options {
            if (momentum < 0) throw new IllegalArgumentException("momentum must be >= 0, got " + momentum);
            if (weightDecay < 0) throw new IllegalArgumentException("weight decay must be >= 0, got " + weightDecay);
            if (nesterov && (momentum <= 0 || dampening != 0)) {
                throw new IllegalArgumentException("Nesterov momentum needs momentum > 0 and dampening 0");
            }
        }
    }

    private final List<Tensor> params;
    private final List<Tensor> buffers = new ArrayList<>();
    private final boolean[] bufferReady;
    private final Options options;
    private final boolean onePass;

    /** With PyTorch's multi-tensor update (the reference engine's). */
    public Sgd(List<Tensor> params, Options options) {
        this(params, options, false);
    }

    /** {@code onePass}: the CPU-kernels engine's update, one pass per float32 CPU parameter. */
    public Sgd(List<Tensor> params, Options options, boolean onePass) {
        this.params = List.copyOf(params);
        this.options = options;
        this.onePass = onePass;
        this.bufferReady = new boolean[params.size()];
        if (options.momentum() != 0) {
            for (Tensor p : params) buffers.add(Tensor.zerosLike(p).unscoped());
        }
    }

    /** Updates every parameter that has a gradient with learning rate {@code lr}. */
    public void step(double lr) {
        ParameterUpdates.sgd(onePass, params, buffers, bufferReady, lr, options.momentum(), options.dampening(), options.weightDecay(),
                options.nesterov());
    }

    /** Momentum buffers in parameter order (empty without momentum); for checkpoints. */
    public List<Tensor> momentumBuffers() {
        return List.copyOf(buffers);
    }

    /** Whether each parameter's momentum buffer holds momentum yet (false before its first step); a copy. */
    public boolean[] bufferReady() {
        return bufferReady.clone();
    }

    /** Restores the momentum state saved from {@link #momentumBuffers()} and {@link #bufferReady()}. */
    public void restore(List<Tensor> savedBuffers, boolean[] ready) {
        if (savedBuffers.size() != buffers.size() || ready.length != bufferReady.length) {
            throw new IllegalArgumentException("saved optimizer state has " + savedBuffers.size() + " buffers and " + ready.length
                    + " flags; this optimizer has " + buffers.size() + " and " + bufferReady.length);
        }
        for (int i = 0; i < buffers.size(); i++) buffers.get(i).copyFrom(savedBuffers.get(i));
        System.arraycopy(ready, 0, bufferReady, 0, ready.length);
    }

    public Options options() {
        return options;
    }

    @Override
    public void close() {
        buffers.forEach(Tensor::close);
    }
}
