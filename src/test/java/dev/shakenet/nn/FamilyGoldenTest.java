package dev.shakenet.nn;

import static org.junit.jupiter.api.Assertions.*;

import dev.shakenet.torch.DType;
import dev.shakenet.torch.Device;
import dev.shakenet.torch.Functional;
import dev.shakenet.torch.Generator;
import dev.shakenet.torch.MemoryFormat;
import dev.shakenet.torch.ShakeDropCoefficients;
import dev.shakenet.torch.Tensor;
import dev.shakenet.torch.TensorFiles;
import dev.shakenet.torch.TensorScope;
import dev.shakenet.torch.Torch;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The newer model families against plain PyTorch: for each golden (recorded in float64 by
 * src/test/python/record_family_goldens.py, its own definitions of the papers' models, random
 * weights and BatchNorm statistics, 6 images of 16x16), the model in float64 with the golden's
 * weights must give PyTorch's evaluation logits, and with the golden's per-image coefficients its
 * training logits, loss, every parameter gradient and every BatchNorm buffer after the forward:
 * <ul>
 * <li>pyramidnet-basic: PyramidNet-8 alpha 12, basic blocks, ShakeDrop gate/alpha/beta per block;
 * <li>pyramidnet-bottleneck: PyramidNet-11 alpha 12, bottleneck blocks, the same;
 * <li>resnext: Shake-Shake ResNeXt-29 2x2x2d, stem width 4, alpha/beta per block.
 * </ul>
 * All to 1e-10 absolute (float64; measured: 0 for both PyramidNets, at most 3.1e-15 for the ResNeXt).
 */
class FamilyGoldenTest {
    static final double TOLERANCE = 1e-10;
    static final List<String> RESNEXT_BLOCKS = List.of("stage1.0", "stage1.1", "stage1.2", "stage2.0", "stage2.1", "stage2.2",
            "stage3.0", "stage3.1", "stage3.2");
    private static final Map<String, Map<String, Tensor>> goldens = new HashMap<>();

    /** The golden's tensors by name, read once per test run. */
    static synchronized Map<String, Tensor> golden(String name) {
        Map<String, Tensor> cached = goldens.get(name);
        if (cached != null) return cached;
        Map<String, Tensor> loaded;
        try {
            Path file = Files.createTempFile(name, ".pt");
            try (InputStream in = FamilyGoldenTest.class.getResourceAsStream(name + "-golden.pt")) {
                assertNotNull(in, name + "-golden.pt is a test resource (record it with src/test/python/record_family_goldens.py)");
                Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
                loaded = Collections.unmodifiableMap(TensorFiles.load(file));
            } finally {
                Files.deleteIfExists(file);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        loaded.values().forEach(Tensor::unscoped);
        goldens.put(name, loaded);
        return loaded;
    }

    /** A fresh model of the golden's family and size, with its parameters drawn from seed 0 (not the golden's). */
    static Network fresh(String name, ShakeCoefficients coefficients) {
        try (Generator g = Generator.create(Device.CPU, 0)) {
            Init init = new Init(Device.CPU, MemoryFormat.CONTIGUOUS, g, DType.FLOAT64);
            return switch (name) {
                case "pyramidnet-basic" -> new PyramidNet(8, 12, false, 10, g, init);
                case "pyramidnet-bottleneck" -> new PyramidNet(11, 12, true, 10, g, init);
                case "resnext" -> new ShakeResNeXt(2, 2, 4, 10, coefficients, init);
                default -> throw new IllegalArgumentException(name);
            };
        }
    }

    /**
     * The golden's model in float64 with its initial state and its training coefficients
     * ({@code wrongBlock}: that block's coefficients deliberately altered, for the negative test).
     */
    static Network model(String name, String wrongBlock) {
        Map<String, Tensor> golden = golden(name);
        Network model = fresh(name, resnextCoefficients(golden, wrongBlock));
        Map<String, Tensor> init = new LinkedHashMap<>();
        golden.forEach((key, t) -> {
            if (key.startsWith("init.")) init.put(key.substring(5), t);
        });
        model.loadStateDict(init);
        if (model instanceof PyramidNet pyramid) {
            List<PyramidBlock> blocks = pyramid.blocks();
            for (int k = 1; k <= blocks.size(); k++) {
                String block = String.valueOf(k);
                boolean wrong = block.equals(wrongBlock);
                blocks.get(k - 1).giveCoefficients(f -> new ShakeDropCoefficients(
                        given(golden, "shakedrop.gate." + block, f),
                        given(golden, "shakedrop.alpha." + block, f),
                        // the wrong variant swaps the backward coefficient for the forward one
                        given(golden, (wrong ? "shakedrop.alpha." : "shakedrop.beta.") + block, f)));
            }
        }
        return model;
    }

    /** The golden's shake coefficients, block after block in forward order, again from the first on the next step. */
    private static ShakeCoefficients resnextCoefficients(Map<String, Tensor> golden, String wrongBlock) {
        int[] next = {0};
        return like -> {
            String block = RESNEXT_BLOCKS.get(next[0]++ % RESNEXT_BLOCKS.size());
            boolean wrong = block.equals(wrongBlock);
            return new ShakeCoefficients.Pair(given(golden, "shake.alpha." + block, like),
                    given(golden, (wrong ? "shake.alpha." : "shake.beta.") + block, like));
        };
    }

    private static Tensor given(Map<String, Tensor> golden, String key, Tensor like) {
        Tensor t = golden.get(key);
        assertNotNull(t, key);
        return t.to(like.device(), like.dtype(), MemoryFormat.PRESERVE, false);
    }

    /** One training forward and backward: "logits", "loss", "grad.&lt;p&gt;", "buffer.&lt;b&gt;" as doubles. */
    static Map<String, double[]> trainingStep(Network model, Map<String, Tensor> golden) {
        Map<String, double[]> out = new TreeMap<>();
        model.train(true);
        model.zeroGrad();
        try (TensorScope scope = TensorScope.open()) {
            Tensor logits = model.forward(golden.get("input"));
            Tensor loss = Functional.crossEntropy(logits, golden.get("target"));
            loss.backward();
            out.put("logits", ModelStep.doubles(logits));
            out.put("loss", ModelStep.doubles(loss));
            model.namedParameters().forEach((n, p) -> out.put("grad." + n, ModelStep.doubles(p.grad())));
            model.namedBuffers().forEach((n, b) -> out.put("buffer." + n, ModelStep.doubles(b)));
        }
        return out;
    }

    /** The largest |golden - computed| over every value, failing on a missing or extra name. */
    static Map<String, Double> differences(String name, Map<String, double[]> step) {
        Map<String, Tensor> golden = golden(name);
        List<String> expected = new ArrayList<>();
        for (String key : golden.keySet()) if (key.startsWith("train.")) expected.add(key.substring(6));
        assertEquals(expected.stream().sorted().toList(), new ArrayList<>(step.keySet()), name + ": the step's values, by name");
        Map<String, Double> out = new TreeMap<>();
        step.forEach((key, values) ->
                out.put(key, ModelStep.maxDifference(golden.get("train." + key).to(DType.FLOAT64).toDoubleArray(), values, key)));
        return out;
    }

    @ParameterizedTest
    @ValueSource(strings = {"pyramidnet-basic", "pyramidnet-bottleneck", "resnext"})
    void trainingForwardAndBackwardMatchPytorch(String name) {
        try (Network model = model(name, null)) {
            Map<String, Double> differences = differences(name, trainingStep(model, golden(name)));
            double logits = differences.get("logits"), grads = 0, buffers = 0;
            for (Map.Entry<String, Double> e : differences.entrySet()) {
                assertTrue(e.getValue() < TOLERANCE, name + " " + e.getKey() + " differs by " + e.getValue());
                if (e.getKey().startsWith("grad.")) grads = Math.max(grads, e.getValue());
                if (e.getKey().startsWith("buffer.")) buffers = Math.max(buffers, e.getValue());
            }
            System.out.printf("%s training: max |diff| logits %.3e, loss %.3e, gradients %.3e, buffers %.3e%n",
                    name, logits, differences.get("loss"), grads, buffers);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"pyramidnet-basic", "pyramidnet-bottleneck", "resnext"})
    void evaluationMatchesPytorch(String name) {
        try (Network model = model(name, null)) {
            model.train(false);
            double[] logits;
            try (TensorScope scope = TensorScope.open(); var noGrad = Torch.noGrad()) {
                logits = ModelStep.doubles(model.forward(golden(name).get("input")));
            }
            double worst = ModelStep.maxDifference(golden(name).get("eval.logits").toDoubleArray(), logits, "eval.logits");
            assertTrue(worst < TOLERANCE, name + " eval logits differ by " + worst);
            System.out.printf("%s evaluation: max |diff| logits %.3e%n", name, worst);
        }
    }

    /**
     * The comparison can fail: with one block's backward coefficient replaced by its forward one
     * (the first block's, so that only gradients below it move), or one weight changed, the step
     * no longer matches.
     */
    @ParameterizedTest
    @ValueSource(strings = {"pyramidnet-basic", "pyramidnet-bottleneck", "resnext"})
    void aWrongCoefficientOrWeightIsCaught(String name) {
        String first = name.equals("resnext") ? "stage1.0" : "1";
        try (Network model = model(name, first)) {
            Map<String, Double> differences = differences(name, trainingStep(model, golden(name)));
            assertTrue(differences.get("logits") < TOLERANCE, "the forward does not use beta");
            assertTrue(differences.get("grad.stem.conv.weight") > 1e-6, "beta altered, stem gradient differs by " + differences.get("grad.stem.conv.weight"));
        }
        try (Network model = model(name, null)) {
            Tensor bias = model.namedParameters().get("fc.bias"); // the model's own: not closed here
            double[] values = bias.toDoubleArray();
            values[0] += 1e-3;
            try (var noGrad = Torch.noGrad(); Tensor changed = Tensor.fromDoubles(values, bias.shape())) {
                bias.copyFrom(changed);
            }
            Map<String, Double> differences = differences(name, trainingStep(model, golden(name)));
            assertTrue(differences.get("logits") > 1e-4, "fc.bias altered, logits differ by " + differences.get("logits"));
        }
    }

    /** A fresh model's state dict has exactly the golden's names, shapes and order (PyTorch's strict load, from this side). */
    @ParameterizedTest
    @ValueSource(strings = {"pyramidnet-basic", "pyramidnet-bottleneck", "resnext"})
    void stateDictNamesShapesAndOrderMatchPytorch(String name) {
        try (Network model = fresh(name, null)) {
            List<String> goldenNames = new ArrayList<>();
            golden(name).forEach((key, t) -> {
                if (key.startsWith("init.")) goldenNames.add(key.substring(5) + Arrays.toString(t.shape()));
            });
            List<String> mine = new ArrayList<>();
            model.stateDict().forEach((key, t) -> mine.add(key + Arrays.toString(t.shape())));
            assertEquals(goldenNames, mine, name + ": state dict names, shapes and order");
        }
    }

    /**
     * With -Dshakenet.familyExport=DIR, writes each family's freshly built state dict (seed 0,
     * not the golden's weights) to DIR/&lt;name&gt;.state.pt, for record_family_goldens.py --check-java
     * (load_state_dict(strict=True) into the PyTorch modules). Skipped otherwise.
     */
    @Test
    void exportsFreshStateDicts() throws IOException {
        String dir = System.getProperty("shakenet.familyExport");
        Assumptions.assumeTrue(dir != null, "no -Dshakenet.familyExport: nothing to write");
        Files.createDirectories(Path.of(dir));
        for (String name : List.of("pyramidnet-basic", "pyramidnet-bottleneck", "resnext")) {
            try (Network model = fresh(name, null)) {
                TensorFiles.save(Path.of(dir, name + ".state.pt"), model.stateDict());
            }
        }
    }
}
