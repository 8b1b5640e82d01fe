package dev.shakenet.nn;

import dev.shakenet.torch.DType;
import dev.shakenet.torch.Device;
import dev.shakenet.torch.Generator;
import dev.shakenet.torch.MemoryFormat;
import dev.shakenet.torch.Tensor;
import dev.shakenet.torch.TensorScope;

/**
 * Where new parameters go, in which floating-point dtype, and where their initial values come
 * from. Initial values are drawn in float32 on the CPU from one seeded generator and then moved,
 * so a seed gives the same network on every device and in every dtype.
 */
public record Init(Device device, MemoryFormat memoryFormat, Generator generator, DType dtype) {
    /** float32 parameters, as training uses. */
    public Init(Device device, MemoryFormat memoryFormat, Generator generator) {
        this(device, memoryFormat, generator, DType.FLOAT32);
    }

    /** Normal(0, std) values of the given shape, on the device (4-d ones in the memory format). */
    Tensor normal(double std, long... shape) {
        try (TensorScope scope = TensorScope.open()) {
            return scope.keep(place(Tensor.randn(0, std, DType.FLOAT32, Device.CPU, generator, shape)));
        }
    }

    /** Uniform[-bound, bound) values. */
    Tensor uniform(double bound, long... shape) {
        try (TensorScope scope = TensorScope.open()) {
            return scope.keep(place(Tensor.uniform(-bound, bound, DType.FLOAT32, Device.CPU, generator, shape)));
        }
    }

    /** {@code value} everywhere, in the parameters' dtype. */
    Tensor constant(double value, long... shape) {
        return Tensor.full(value, dtype, device, shape);
    }

    /** A whole-number counter (a batch norm's num_batches_tracked). */
    Tensor counter() {
        return Tensor.zeros(DType.INT64, device);
    }

    private Tensor place(Tensor cpu) {
        return cpu.to(device, dtype, cpu.dim() == 4 ? memoryFormat : MemoryFormat.PRESERVE, false);
    }
}
