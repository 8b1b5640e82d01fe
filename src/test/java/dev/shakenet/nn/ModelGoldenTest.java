package dev.shakenet.nn;

import static org.junit.jupiter.api.Assertions.*;

import dev.shakenet.torch.DType;
import dev.shakenet.torch.Device;
import dev.shakenet.torch.Generator;
import dev.shakenet.torch.MemoryFormat;
import dev.shakenet.torch.ShakeShake.Level;
import dev.shakenet.torch.ShakeShake.Mode;
import dev.shakenet.torch.Tensor;
import dev.shakenet.torch.TensorFiles;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The model against plain PyTorch: model-golden.pt holds, for Shake-Shake-14 2x4d with random
 * weights and statistics on a fixed batch of 6 images, what PyTorch computed in float64
 * (src/test/python/record_model_golden.py, its own definition of the paper's model): evaluation
 * logits, and for even/even and shake/shake coefficients (the latter given per image and block)
 * the training logits, loss, every gradient, the running statistics and the parameters after one
 * SGD step (Nesterov, weight decay).
 */
class ModelGoldenTest {
    static final List<String> BLOCKS = List.of("stage1.0", "stage1.1", "stage2.0", "stage2.1", "stage3.0", "stage3.1");
    private static Map<String, Tensor> golden;

    /** The golden's tensors by name, read once per test run. */
    static synchronized Map<String, Tensor> golden() {
        if (golden != null) return golden;
        try {
            Path file = Files.createTempFile("model-golden", ".pt");
            try (InputStream in = ModelGoldenTest.class.getResourceAsStream("model-golden.pt")) {
                assertNotNull(in, "model-golden.pt is a test resource (record it with src/test/python/record_model_golden.py)");
                Files.copy(in, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                golden = java.util.Collections.unmodifiableMap(TensorFiles.load(file));
            } finally {
                Files.deleteIfExists(file);
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        golden.values().forEach(Tensor::unscoped);
        return golden;
    }

    /** The reference engine in float64 is PyTorch's computation to rounding: 1e-10 everywhere. */
    @ParameterizedTest
    @ValueSource(strings = {"even", "shake"})
    void theReferenceEngineInFloat64MatchesPytorch(String mode) {
        assertStepMatches(Engine.choose(Engine.Choice.REFERENCE, Device.CPU), mode, DType.FLOAT64, 1e-10);
    }

    /**
     * The CPU-kernels engine's stage calls, in float64 (where its kernels stand aside for
     * libtorch's ops), arrange the same arithmetic: paired convolutions and batch norms, the
     * block-diagonal shortcut, the block ends.
     */
    @ParameterizedTest
    @ValueSource(strings = {"even", "shake"})
    void theCpuKernelsEngineInFloat64MatchesPytorch(String mode) {
        org.junit.jupiter.api.Assumptions.assumeTrue(CpuKernelsEngine.available(), "this libshakenet has no CPU kernels");
        assertStepMatches(Engine.choose(Engine.Choice.CPU_KERNELS, Device.CPU), mode, DType.FLOAT64, 1e-10);
    }

    /**
     * In float32 the reference engine stays within float32 rounding of the float64 result: 2e-5
     * of each tensor's norm (measured: below 3e-6; the golden's smallest ReLU input is 2e-6 from
     * zero, so no ReLU decision flips).
     */
    @Test
    void theReferenceEngineInFloat32IsWithinRoundingOfPytorch() {
        Engine reference = Engine.choose(Engine.Choice.REFERENCE, Device.CPU);
        for (String mode : List.of("even", "shake")) {
            try (ShakeResNet model = model(mode, DType.FLOAT32, Device.CPU, MemoryFormat.CONTIGUOUS)) {
                Map<String, double[]> step = ModelStep.train(model, reference, golden().get("input").to(DType.FLOAT32), golden().get("target"), null);
                for (Map.Entry<String, double[]> e : step.entrySet()) {
                    double[] expected = golden().get(mode + "." + e.getKey()).to(DType.FLOAT64).toDoubleArray();
                    double difference = ModelStep.relativeDifference(expected, e.getValue(), e.getKey());
                    assertTrue(difference < 2e-5, mode + " " + e.getKey() + ": relative difference " + difference);
                }
            }
        }
    }

    @Test
    void evaluationUsesRunningStatisticsAndTheBranchMean() {
        try (ShakeResNet model = model("even", DType.FLOAT64, Device.CPU, MemoryFormat.CONTIGUOUS)) {
            double[] logits = ModelStep.evaluate(model, golden().get("input"));
            double worst = ModelStep.maxDifference(golden().get("eval.logits").toDoubleArray(), logits, "eval.logits");
            assertTrue(worst < 1e-10, "eval logits differ by " + worst);
        }
    }

    /** Every key of the golden's step is produced, and the step matches it to {@code tolerance} (absolute). */
    static void assertStepMatches(Engine engine, String mode, DType dtype, double tolerance) {
        try (ShakeResNet model = model(mode, dtype, Device.CPU, MemoryFormat.CONTIGUOUS)) {
            Map<String, double[]> step = ModelStep.train(model, engine, golden().get("input").to(dtype), golden().get("target"), null);
            List<String> expectedKeys = new ArrayList<>();
            for (String key : golden().keySet()) {
                if (key.startsWith(mode + ".") && !key.startsWith("shake.alpha.") && !key.startsWith("shake.beta.")) {
                    expectedKeys.add(key.substring(mode.length() + 1));
                }
            }
            assertEquals(expectedKeys.stream().sorted().toList(), new ArrayList<>(step.keySet()), "the step's values, by name");
            for (Map.Entry<String, double[]> e : step.entrySet()) {
                double worst = ModelStep.maxDifference(golden().get(mode + "." + e.getKey()).to(DType.FLOAT64).toDoubleArray(), e.getValue(), e.getKey());
                assertTrue(worst < tolerance, engine.name() + " " + mode + " " + e.getKey() + " differs by " + worst);
            }
        }
    }

    /** The golden's model on a device, in a dtype, with its initial state and its coefficients. */
    static ShakeResNet model(String mode, DType dtype, Device device, MemoryFormat format) {
        ShakeCoefficients coefficients = mode.equals("even") ? ShakeCoefficients.drawn(new Shake(Mode.EVEN, Mode.EVEN, Level.IMAGE), null)
                : given(device);
        ShakeResNet model;
        try (Generator g = Generator.create(Device.CPU, 0)) {
            model = new ShakeResNet(14, 4, 10, coefficients, new Init(device, format, g, dtype));
        }
        Map<String, Tensor> init = new LinkedHashMap<>();
        golden().forEach((key, t) -> {
            if (key.startsWith("init.")) init.put(key.substring(5), t);
        });
        model.loadStateDict(init);
        return model;
    }

    /** The golden's shake coefficients, block after block in forward order, again from the first on the next step. */
    private static ShakeCoefficients given(Device device) {
        int[] next = {0};
        return like -> {
            String block = BLOCKS.get(next[0]++ % BLOCKS.size());
            DType dtype = like.dtype() == DType.FLOAT64 ? DType.FLOAT64 : DType.FLOAT32;
            return new ShakeCoefficients.Pair(golden().get("shake.alpha." + block).to(device, dtype, MemoryFormat.PRESERVE, false),
                    golden().get("shake.beta." + block).to(device, dtype, MemoryFormat.PRESERVE, false));
        };
    }
}
