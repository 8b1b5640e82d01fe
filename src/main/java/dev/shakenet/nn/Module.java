package dev.shakenet.nn;

import dev.shakenet.torch.Tensor;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A network part with named parameters, buffers and children, as in PyTorch's nn.Module.
 * Names are dotted paths in registration order ({@code stage1.0.branch1.conv1.weight});
 * {@link #stateDict()} lists them in the order PyTorch's state_dict() would. A module owns its
 * tensors (outside any {@link dev.shakenet.torch.TensorScope}) and frees them on close.
 */
public abstract class Module implements AutoCloseable {
    private final Map<String, Tensor> parameters = new LinkedHashMap<>();
    private final Map<String, Tensor> buffers = new LinkedHashMap<>();
    private final Map<String, Module> children = new LinkedHashMap<>();
    private boolean training = true;

    /** Registers a trainable tensor (requires_grad is set); the module owns it from now on. */
    protected final Tensor registerParameter(String name, Tensor value) {
        checkName(name);
        parameters.put(name, value.unscoped().requiresGrad(true));
        return value;
    }

    /** Registers a tensor that is state but not trained (BatchNorm's running statistics). */
    protected final Tensor registerBuffer(String name, Tensor value) {
        checkName(name);
        buffers.put(name, value.unscoped());
        return value;
    }

    protected final <M extends Module> M registerModule(String name, M module) {
        checkName(name);
        children.put(name, module);
        return module;
    }

    private void checkName(String name) {
        if (name.isEmpty() || name.contains(".")) throw new IllegalArgumentException("bad name '" + name + "'");
        if (parameters.containsKey(name) || buffers.containsKey(name) || children.containsKey(name)) {
            throw new IllegalArgumentException("name '" + name + "' is already registered");
        }
    }

    /** Trainable tensors by dotted name, in registration order (PyTorch's named_parameters()). */
    public final Map<String, Tensor> namedParameters() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        collect("", out, true, false);
        return out;
    }

    /** Buffers by dotted name (PyTorch's named_buffers()). */
    public final Map<String, Tensor> namedBuffers() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        collect("", out, false, true);
        return out;
    }

    /** Parameters and buffers by dotted name, in the order of PyTorch's state_dict(). */
    public final Map<String, Tensor> stateDict() {
        Map<String, Tensor> out = new LinkedHashMap<>();
        collect("", out, true, true);
        return out;
    }

    private void collect(String prefix, Map<String, Tensor> out, boolean withParameters, boolean withBuffers) {
        if (withParameters) parameters.forEach((name, t) -> out.put(prefix + name, t));
        if (withBuffers) buffers.forEach((name, t) -> out.put(prefix + name, t));
        children.forEach((name, child) -> child.collect(prefix + name + ".", out, withParameters, withBuffers));
    }

    public final List<Tensor> parameters() {
        return new ArrayList<>(namedParameters().values());
    }

    /** The number of trainable values (weights and BatchNorm affine parameters). */
    public final long parameterCount() {
        long count = 0;
        for (Tensor p : namedParameters().values()) count += p.numel();
        return count;
    }

    /** Training mode (batch statistics, shake coefficients) or eval mode, for this module and all below. */
    public final void train(boolean on) {
        training = on;
        children.values().forEach(child -> child.train(on));
    }

    public final boolean isTraining() {
        return training;
    }

    /** Drops every parameter's gradient (set to none, as PyTorch's zero_grad does by default). */
    public final void zeroGrad() {
        for (Tensor p : namedParameters().values()) p.zeroGrad();
    }

    /**
     * Copies {@code state} into this module's parameters and buffers, like PyTorch's strict
     * load_state_dict: every name must be present with the same shape, and no other name may
     * appear. Values are converted to each tensor's dtype, device and layout.
     *
     * @throws IllegalArgumentException listing the missing, unexpected and mis-shaped names
     */
    public final void loadStateDict(Map<String, Tensor> state) {
        Map<String, Tensor> mine = stateDict();
        List<String> problems = new ArrayList<>();
        for (Map.Entry<String, Tensor> e : mine.entrySet()) {
            Tensor given = state.get(e.getKey());
            if (given == null) {
                problems.add("missing " + e.getKey());
            } else if (!java.util.Arrays.equals(given.shape(), e.getValue().shape())) {
                problems.add(e.getKey() + " has shape " + java.util.Arrays.toString(given.shape()) + ", the model's is "
                        + java.util.Arrays.toString(e.getValue().shape()));
            }
        }
        for (String name : state.keySet()) if (!mine.containsKey(name)) problems.add("unexpected " + name);
        if (!problems.isEmpty()) {
            int shown = Math.min(problems.size(), 12);
            throw new IllegalArgumentException(String.join("; ", problems.subList(0, shown))
                    + (problems.size() > shown ? "; and " + (problems.size() - shown) + " more" : ""));
        }
        try (var noGrad = dev.shakenet.torch.Torch.noGrad()) {
            mine.forEach((name, t) -> t.copyFrom(state.get(name)));
        }
    }

    /** Frees every parameter and buffer of this module and its children. */
    @Override
    public void close() {
        stateDict().values().forEach(Tensor::close);
    }
}
