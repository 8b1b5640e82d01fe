package dev.shakenet.bench;

import dev.shakenet.torch.Autocast;
import dev.shakenet.torch.DType;
import dev.shakenet.torch.Device;
import dev.shakenet.torch.Functional;
import dev.shakenet.torch.Generator;
import dev.shakenet.torch.MemoryFormat;
import dev.shakenet.torch.Tensor;
import dev.shakenet.torch.TensorScope;
import dev.shakenet.torch.Torch;
import dev.shakenet.train.Precision;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The arithmetic rate the device reaches on one large 3x3 convolution (forward, input gradient
 * and weight gradient) in the run's precision and layout: libtorch's best case for the operation
 * that dominates a Shake-Shake step. Dividing it by the model's arithmetic per image gives the
 * images/s no implementation on the same libtorch can beat, since every other op only adds time.
 * It is measured with libtorch's direct algorithm (sn_conv2d): the CPU-kernels engine's
 * Winograd convolutions do less arithmetic and can pass it.
 */
final class ConvolutionCeiling {
    /** 64 x 256 x 16 x 16 images through 256 filters of 3x3: 19.3 GFLOP per forward, compute-bound on any device. */
    private static final int BATCH = 64, CHANNELS = 256, SIZE = 16;

    private ConvolutionCeiling() {}

    static Map<String, Object> measure(Device device, Precision precision, MemoryFormat format, int steps, int warmup) {
        double flopPerPass = 2.0 * BATCH * CHANNELS * SIZE * SIZE * CHANNELS * 9;
        double[] rate = new double[steps];
        try (TensorScope scope = TensorScope.open(); Generator rng = Generator.create(device, 7)) {
            Tensor x = Tensor.randn(0, 1, DType.FLOAT32, device, rng, BATCH, CHANNELS, SIZE, SIZE).to(format).requiresGrad(true);
            Tensor w = Tensor.randn(0, 0.02, DType.FLOAT32, device, rng, CHANNELS, CHANNELS, 3, 3).to(format).requiresGrad(true);
            DType computed = precision.autocastDtype() == null ? DType.FLOAT32 : precision.autocastDtype();
            Tensor gradOut = Tensor.randn(0, 1, DType.FLOAT32, device, rng, BATCH, CHANNELS, SIZE, SIZE).to(format).to(computed);
            for (int i = 0; i < warmup + steps; i++) {
                try (TensorScope step = TensorScope.open()) {
                    long start = System.nanoTime();
                    Tensor y;
                    try (Autocast amp = Autocast.enter(device, precision.autocastDtype())) {
                        y = Functional.conv2d(x, w, null, 1, 1);
                    }
                    y.backward(gradOut);
                    Torch.synchronize(device);
                    if (i >= warmup) rate[i - warmup] = 3 * flopPerPass / ((System.nanoTime() - start) / 1e9) / 1e9;
                    x.zeroGrad();
                    w.zeroGrad();
                }
            }
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("shape", BATCH + "x" + CHANNELS + "x" + SIZE + "x" + SIZE + " input, " + CHANNELS + " filters 3x3, padding 1");
        out.put("algorithm", "libtorch's (oneDNN direct)");
        out.put("gflop_per_second", Stats.of(rate));
        return out;
    }
}
