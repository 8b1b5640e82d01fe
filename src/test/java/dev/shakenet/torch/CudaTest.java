package dev.shakenet.torch;

import static dev.shakenet.torch.Reference.random;
import static org.junit.jupiter.api.Assertions.*;

import java.util.Random;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The same ops on a CUDA device agree with the CPU; skipped, saying why, without a GPU. */
class CudaTest {
    static final Device CUDA = Device.cuda(0);
    private final Random rng = new Random(5);
    private TensorScope scope;

    @BeforeEach
    void open() {
        Cuda.assumeAvailable();
        scope = TensorScope.open();
    }

    @AfterEach
    void close() {
        if (scope != null) scope.close();
    }

    @Test
    void transfersRoundTripAndReportTheDevice() {
        float[] data = Reference.toFloats(random(rng, 64));
        Tensor gpu = Tensor.fromFloats(data, 4, 16).to(CUDA);
        assertEquals(CUDA, gpu.device());
        assertArrayEquals(data, gpu.toFloatArray(), "copy back from the device");
        assertEquals(Device.CPU, gpu.to(Device.CPU).device());
        assertFalse(Torch.cudaDeviceName(0).isBlank());
        Tensor zeros = Tensor.zeros(DType.BFLOAT16, CUDA, 2, 2);
        assertEquals(DType.BFLOAT16, zeros.dtype());
        assertEquals(CUDA, zeros.device());
    }

    @Test
    void convBatchNormLossAndGradientsMatchTheCpu() {
        double[] x = random(rng, 4 * 3 * 8 * 8), w = random(rng, 6 * 3 * 3 * 3);
        long[] y = {1, 0, 5, 2};
        double[][] cpu = step(Device.CPU, x, w, y), gpu = step(CUDA, x, w, y);
        for (int i = 0; i < cpu.length; i++) Reference.assertClose(cpu[i], gpu[i], 1e-9, "cuda vs cpu result " + i);
    }

    /** loss and d loss / d weight of conv -> bn -> relu -> pool -> cross-entropy, in float64. */
    private static double[][] step(Device device, double[] x, double[] w, long[] y) {
        try (TensorScope s = TensorScope.open()) {
            Tensor weight = Tensor.fromDoubles(w, 6, 3, 3, 3).to(device).requiresGrad(true);
            Tensor h = Functional.conv2d(Tensor.fromDoubles(x, 4, 3, 8, 8).to(device), weight, null, 1, 1);
            h = Functional.batchNorm(h, null, null, null, null, true, 0.1, 1e-5).relu();
            Tensor logits = Functional.globalAvgPool2d(h);
            Tensor loss = Functional.crossEntropy(logits, Tensor.fromLongs(y, 4).to(device));
            loss.backward();
            return new double[][] {{loss.item()}, weight.grad().toDoubleArray(),
                    {Functional.countCorrect(logits, Tensor.fromLongs(y, 4).to(device)).item()}};
        }
    }

    @Test
    void shakeShakeDrawsOnTheDeviceReproducibly() {
        double[] a = random(rng, 8 * 4), b = random(rng, 8 * 4);
        double[] first = shake(a, b, 9), again = shake(a, b, 9);
        assertArrayEquals(first, again, "same seed, same draws on the device");
        for (int n = 0; n < 8; n++) {
            double alpha = (first[n * 4] - b[n * 4]) / (a[n * 4] - b[n * 4]);
            assertTrue(alpha >= 0 && alpha <= 1, "alpha " + alpha);
        }
    }

    private static double[] shake(double[] a, double[] b, long seed) {
        try (TensorScope s = TensorScope.open(); Generator gen = Generator.create(CUDA, seed)) {
            Tensor alpha = Tensor.uniform(0, 1, DType.FLOAT64, CUDA, gen, 8, 1);
            Tensor out = ShakeShake.apply(Tensor.fromDoubles(a, 8, 4).to(CUDA), Tensor.fromDoubles(b, 8, 4).to(CUDA), alpha, alpha);
            assertEquals(CUDA, out.device());
            return out.toDoubleArray();
        }
    }

    @Test
    void pinnedUploadsAndAllocatorStatistics() {
        float[] data = Reference.toFloats(random(rng, 64));
        Tensor pinned = Tensor.fromFloatsPinned(data, 4, 16);
        Tensor gpu = pinned.to(CUDA, null, MemoryFormat.PRESERVE, true); // asynchronous copy
        Torch.synchronize(CUDA);
        assertArrayEquals(data, gpu.toFloatArray());
        long[] memory = Torch.cudaMemory(0);
        assertTrue(memory[0] > 0 && memory[1] >= memory[0], java.util.Arrays.toString(memory));
    }

    @Test
    void autocastOnCudaInBfloat16AndFloat16() {
        Tensor x = Tensor.randn(0, 1, DType.FLOAT32, CUDA, null, 2, 3, 8, 8);
        Tensor w = Tensor.randn(0, 1, DType.FLOAT32, CUDA, null, 4, 3, 3, 3);
        for (DType low : new DType[] {DType.BFLOAT16, DType.FLOAT16}) {
            try (Autocast amp = Autocast.enter(CUDA, low)) {
                assertEquals(low, Functional.conv2d(x, w, null, 1, 1).dtype());
            }
        }
        assertEquals(DType.FLOAT32, Functional.conv2d(x, w, null, 1, 1).dtype());
    }

    @Test
    void aCpuGeneratorOnCudaTensorsIsAnError() {
        try (Generator cpu = Generator.create(Device.CPU, 1)) {
            Tensor a = Tensor.zeros(DType.FLOAT32, CUDA, 2, 2);
            assertThrows(TorchException.class, () -> Tensor.uniform(0, 1, DType.FLOAT32, CUDA, cpu, 2, 1));
            Tensor onCpu = Tensor.full(0.5, DType.FLOAT32, Device.CPU, 2, 1);
            TorchException where = assertThrows(TorchException.class, () -> ShakeShake.apply(a, a, onCpu, onCpu));
            assertTrue(where.getMessage().contains("alpha is on cpu"), where.getMessage());
        }
    }
}
