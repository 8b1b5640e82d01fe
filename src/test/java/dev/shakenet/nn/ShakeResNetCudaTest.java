package dev.shakenet.nn;

import static dev.shakenet.nn.ShakeResNetTest.assertCloseAsTensors;
import static dev.shakenet.nn.ShakeResNetTest.stepResults;
import static org.junit.jupiter.api.Assertions.*;

import dev.shakenet.optim.Sgd;
import dev.shakenet.torch.Cuda;
import dev.shakenet.torch.DType;
import dev.shakenet.torch.Device;
import dev.shakenet.torch.Functional;
import dev.shakenet.torch.Generator;
import dev.shakenet.torch.MemoryFormat;
import dev.shakenet.torch.ShakeShake.Level;
import dev.shakenet.torch.ShakeShake.Mode;
import dev.shakenet.torch.Tensor;
import dev.shakenet.torch.TensorScope;
import dev.shakenet.torch.Torch;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The whole model on a CUDA device: two training steps (forward, loss, backward, SGD with
 * Nesterov momentum and weight decay) give the CPU's loss, gradients, running statistics and
 * weights. The CPU runs libtorch's ops in the contiguous layout, which the other tests check
 * against float64 references. Skipped, saying why, without a GPU.
 */
class ShakeResNetCudaTest {
    private static final Device CUDA = Device.cuda(0);
    // Even coefficients draw nothing, so both devices combine the branches alike (CudaTest checks the draws).
    private static final Shake EVEN = new Shake(Mode.EVEN, Mode.EVEN, Level.IMAGE);

    @ParameterizedTest
    @EnumSource(value = MemoryFormat.class, names = {"CONTIGUOUS", "CHANNELS_LAST"})
    void twoTrainingStepsOnCudaMatchTheCpu(MemoryFormat format) {
        Cuda.assumeAvailable();
        try (TensorScope scope = TensorScope.open(); Generator g = Generator.create(Device.CPU, 3); Generator gpuGen = Generator.create(CUDA, 3);
             ShakeResNet cpu = new ShakeResNet(14, 16, 10, EVEN, g, new Init(Device.CPU, MemoryFormat.CONTIGUOUS, g));
             ShakeResNet gpu = new ShakeResNet(14, 16, 10, EVEN, gpuGen, new Init(CUDA, format, gpuGen));
             Sgd cpuSgd = new Sgd(cpu.parameters(), new Sgd.Options(0.9, 0, 1e-4, true));
             Sgd gpuSgd = new Sgd(gpu.parameters(), new Sgd.Options(0.9, 0, 1e-4, true))) {
            copyState(cpu, gpu);
            assertEquals(CUDA, gpu.parameters().getFirst().device());
            Tensor labels = Tensor.fromLongs(new long[] {1, 7, 3, 0, 9, 4}, 6);
            for (int step = 0; step < 2; step++) {
                Tensor x = Tensor.randn(0, 1, DType.FLOAT32, Device.CPU, g, 6, 3, 16, 16);
                Map<String, float[]> expected = trainStep(cpu, cpuSgd, x, labels);
                Map<String, float[]> actual = trainStep(gpu, gpuSgd, x.to(CUDA).to(format), labels.to(CUDA));
                assertEquals(expected.keySet(), actual.keySet());
                // Whole tensors, loosely: cuDNN's float32 convolutions may round through TF32
                // (libtorch's default, 10-bit mantissa), while a wrong layout, coefficient or
                // update moves a tensor by tens of percent.
                for (String key : expected.keySet()) {
                    assertCloseAsTensors(expected.get(key), actual.get(key), 2e-2, 1e-6, "step " + (step + 1) + ", " + key);
                }
            }
        }
    }

    private static void copyState(ShakeResNet from, ShakeResNet to) {
        Map<String, Tensor> params = from.namedParameters(), buffers = from.namedBuffers();
        try (var noGrad = Torch.noGrad()) {
            to.namedParameters().forEach((name, p) -> p.copyFrom(params.get(name)));
            to.namedBuffers().forEach((name, b) -> b.copyFrom(buffers.get(name)));
        }
    }

    /** One step; its loss, gradients and running statistics, then the updated weights. */
    private static Map<String, float[]> trainStep(ShakeResNet net, Sgd sgd, Tensor x, Tensor labels) {
        net.zeroGrad();
        Tensor loss = Functional.crossEntropy(net.forward(x), labels);
        loss.backward();
        Map<String, float[]> values = stepResults(net, loss);
        sgd.step(0.1);
        net.namedParameters().forEach((name, p) -> values.put(name + ".updated", p.toFloatArray()));
        return values;
    }
}
