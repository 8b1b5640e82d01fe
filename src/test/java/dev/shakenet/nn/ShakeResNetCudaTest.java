package dev.shakenet.nn;

import static org.junit.jupiter.api.Assertions.*;

import dev.shakenet.torch.Cuda;
import dev.shakenet.torch.DType;
import dev.shakenet.torch.Device;
import dev.shakenet.torch.MemoryFormat;
import dev.shakenet.torch.Tensor;
import dev.shakenet.torch.TensorScope;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The reference engine's training step on a CUDA device (forward, loss, backward, SGD with
 * Nesterov momentum and weight decay) against the same step on the CPU, from the PyTorch
 * golden's weights, batch and coefficients (ModelGoldenTest checks the CPU against PyTorch).
 * Skipped, saying why, without a GPU.
 */
class ShakeResNetCudaTest {
    private static final Device CUDA = Device.cuda(0);

    /**
     * float64: the GPU's step is the CPU's to rounding (1e-10). float32: cuDNN may round through
     * TF32 (libtorch's default, 10-bit mantissa), so whole tensors agree to 2e-2 of their norm,
     * while a wrong layout, coefficient or update moves one by tens of percent.
     */
    @ParameterizedTest(name = "{0} {1} {2}")
    @CsvSource({"even, FLOAT64, CONTIGUOUS", "shake, FLOAT64, CONTIGUOUS", "shake, FLOAT64, CHANNELS_LAST", "shake, FLOAT32, CHANNELS_LAST"})
    void aTrainingStepOnCudaMatchesTheCpu(String mode, DType dtype, MemoryFormat format) {
        Cuda.assumeAvailable();
        Engine reference = Engine.choose(Engine.Choice.REFERENCE, CUDA);
        Map<String, Tensor> golden = ModelGoldenTest.golden();
        try (TensorScope scope = TensorScope.open();
             ShakeResNet cpu = ModelGoldenTest.model(mode, dtype, Device.CPU, MemoryFormat.CONTIGUOUS);
             ShakeResNet gpu = ModelGoldenTest.model(mode, dtype, CUDA, format)) {
            assertEquals(CUDA, gpu.parameters().getFirst().device());
            Tensor images = golden.get("input").to(dtype);
            Map<String, double[]> expected = ModelStep.train(cpu, reference, images, golden.get("target"), null);
            Map<String, double[]> actual = ModelStep.train(gpu, reference, images.to(CUDA).to(format), golden.get("target").to(CUDA), null);
            assertEquals(expected.keySet(), actual.keySet());
            for (String key : expected.keySet()) {
                if (dtype == DType.FLOAT64) {
                    double worst = ModelStep.maxDifference(expected.get(key), actual.get(key), key);
                    assertTrue(worst < 1e-10, mode + " " + key + " differs by " + worst);
                } else {
                    double difference = ModelStep.relativeDifference(expected.get(key), actual.get(key), key);
                    assertTrue(difference < 2e-2, mode + " " + key + ": relative difference " + difference);
                }
            }
        }
    }
}
