package dev.shakenet.nn;

import dev.shakenet.torch.Device;
import dev.shakenet.torch.Tensor;

/**
 * How a model's training step is computed, chosen once when the model is built: the reference
 * (the modules' own forward on thin libtorch ops, any device) or the CPU kernels (the shim's
 * hand-written CPU path for whole stages). Both compute the same function; evaluation always
 * runs the reference forward.
 */
public sealed interface Engine permits ReferenceEngine, CpuKernelsEngine {
    /** Which engine a config asks for. */
    enum Choice { AUTO, REFERENCE, CPU_KERNELS }

    /** "reference" or "cpu_kernels", as configs, logs, run.json and bench name it. */
    String name();

    /** The model's forward pass, logits (N,classes): through this engine in training, the reference in evaluation. */
    Tensor forward(Network model, Tensor images);

    /** Whether the optimizer should use the CPU kernels' one-pass SGD update. */
    boolean onePassSgd();

    /**
     * The engine for {@code choice} on {@code device} for Shake-Shake 2xKd: auto takes the CPU
     * kernels on the CPU where this libshakenet has them, the reference elsewhere.
     *
     * @throws IllegalArgumentException for cpu_kernels on CUDA or where the library lacks them, saying what to do
     */
    static Engine choose(Choice choice, Device device) {
        return choose(choice, device, null);
    }

    /**
     * As above for a model of another family ({@code otherFamily} names it; null: Shake-Shake
     * 2xKd, the one family the CPU kernels run): auto takes the reference for it, and
     * cpu_kernels is refused.
     */
    static Engine choose(Choice choice, Device device, String otherFamily) {
        if (otherFamily != null && choice == Choice.CPU_KERNELS) {
            throw new IllegalArgumentException("engine cpu_kernels runs Shake-Shake 2xKd (model.family shake_resnet) only, not "
                    + otherFamily + ": use engine \"auto\" or \"reference\"");
        }
        return switch (choice) {
            case REFERENCE -> ReferenceEngine.INSTANCE;
            case AUTO -> otherFamily == null && !device.isCuda() && CpuKernelsEngine.available() ? CpuKernelsEngine.INSTANCE
                    : ReferenceEngine.INSTANCE;
            case CPU_KERNELS -> {
                if (device.isCuda()) {
                    throw new IllegalArgumentException("engine cpu_kernels runs on the CPU only, and the device is " + device
                            + ": use engine \"auto\" or \"reference\"");
                }
                if (!CpuKernelsEngine.available()) {
                    throw new IllegalArgumentException("engine cpu_kernels: this libshakenet has no CPU kernels (built without "
                            + "oneDNN's headers, or another oneDNN is loaded): install libdnnl-dev and rebuild native/ (bin/setup does "
                            + "both), or use engine \"auto\" or \"reference\"");
                }
                yield CpuKernelsEngine.INSTANCE;
            }
        };
    }
}
