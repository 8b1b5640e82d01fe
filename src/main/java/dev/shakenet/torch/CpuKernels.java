package dev.shakenet.torch;

import static dev.shakenet.torch.Tensor.own;
import static dev.shakenet.torch.ffi.shakenet_h.*;
import static java.lang.foreign.ValueLayout.ADDRESS;

import java.lang.foreign.MemorySegment;
import java.util.List;

/**
 * The shim's CPU-kernels engine (native/src/cpu/): hand-written CPU kernels behind a few coarse
 * calls. Present where libshakenet was built with oneDNN's headers (bin/setup installs them).
 */
public final class CpuKernels {
    static {
        NativeLibrary.ensureLoaded();
    }

    /** Tensors per block in {@link #shakeStage}, in the order shakenet.h gives. */
    public static final int BLOCK_TENSORS = SN_CPU_BLOCK_TENSORS();

    private CpuKernels() {}

    /** Whether this libshakenet has them and the oneDNN they were built against is the one loaded. */
    public static boolean available() {
        return Native.readInt((arena, out) -> sn_cpu_kernels_available(out)) != 0;
    }

    /** A training-mode batch norm by the kernels (sn_cpu_batch_norm), updating the running statistics. */
    public static Tensor batchNorm(Tensor input, Tensor weight, Tensor bias, Tensor runningMean, Tensor runningVar, double momentum,
                                   double eps) {
        return own(Native.handle((arena, out) -> sn_cpu_batch_norm(input.handle(), weight.handle(), bias.handle(), runningMean.handle(),
                runningVar.handle(), momentum, eps, out)));
    }

    /**
     * One stage of shake blocks, training forward (sn_cpu_shake_stage): {out, relu(out)}.
     *
     * @param inputRelu relu(input) where the caller has it, else null
     * @param tensors BLOCK_TENSORS per block, nulls for an identity shortcut's six
     */
    public static Tensor[] shakeStage(Tensor input, Tensor inputRelu, int blocks, int stride, List<Tensor> tensors, double momentum,
                                      double eps) {
        if (tensors.size() != (long) blocks * BLOCK_TENSORS) {
            throw new IllegalArgumentException(blocks + " blocks take " + blocks * BLOCK_TENSORS + " tensors, got " + tensors.size());
        }
        MemorySegment[] outputs = Native.handles(2, (arena, out) -> {
            MemorySegment handles = arena.allocate(ADDRESS, tensors.size());
            for (int i = 0; i < tensors.size(); i++) {
                Tensor t = tensors.get(i);
                handles.setAtIndex(ADDRESS, i, t == null ? MemorySegment.NULL : t.handle());
            }
            return sn_cpu_shake_stage(input.handle(), inputRelu == null ? MemorySegment.NULL : inputRelu.handle(), blocks, stride, handles,
                    momentum, eps, out[0], out[1]);
        });
        return new Tensor[] {own(outputs[0]), own(outputs[1])};
    }
}
