package dev.shakenet.train;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import dev.shakenet.torch.Tensor;
import dev.shakenet.torch.TensorFiles;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Weights files against PyTorch itself: Python's torch.load opens what ShakeNet writes, and
 * ShakeNet reads what torch.save writes. Needs a python3 with torch (Debian's python3-torch);
 * skipped, saying why, without one.
 */
class PytorchInteropTest {
    static final String PYTHON = System.getenv().getOrDefault("SHAKENET_PYTHON", "/usr/bin/python3");

    @TempDir
    Path tmp;

    @BeforeAll
    static void needsPythonTorch() throws Exception {
        boolean ok = false;
        if (Files.isExecutable(Path.of(PYTHON))) {
            Process p = new ProcessBuilder(PYTHON, "-c", "import torch").redirectErrorStream(true).start();
            ok = p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0;
        }
        Assumptions.assumeTrue(ok, PYTHON + " cannot import torch (apt-get install python3-torch): PyTorch interop test skipped");
    }

    static String python(String script) throws Exception {
        Process p = new ProcessBuilder(PYTHON, "-c", script).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "python timed out");
        assertEquals(0, p.exitValue(), out);
        return out.strip();
    }

    @Test
    void torchLoadOpensExportedWeightsWithTheDocumentedNames() throws Exception {
        Path run = Files.createDirectories(tmp.resolve("run"));
        List<String> names = new ArrayList<>();
        List<Double> sums = new ArrayList<>();
        try (Trainer t = new Trainer(ResolvedRun.of(CheckpointTest.config(CheckpointTest.TINY, "epochs=1")), CheckpointTest.data(), run)) {
            t.run();
            t.model().stateDict().forEach((name, tensor) -> {
                names.add(name);
                sums.add(tensor.to(dev.shakenet.torch.DType.FLOAT64).sum().item());
            });
        }
        Path weights = tmp.resolve("weights.pt");
        assertEquals(0, dev.shakenet.cli.MainAccess.run("export", "--checkpoint", run.toString(), "--out", weights.toString()));
        JsonNode loaded = ConfigLoader.JSON.readTree(python("""
                import json, torch
                d = torch.load('%s')  # weights_only is the default from PyTorch 2.6: our files pass it
                print(json.dumps({'type': type(d).__name__, 'keys': list(d.keys()),
                                  'sums': [float(v.double().sum()) for v in d.values()],
                                  'dtypes': sorted({str(v.dtype) for v in d.values()})}))""".formatted(weights)));
        assertEquals("OrderedDict", loaded.get("type").asText(), "a state dict, as PyTorch writes one");
        List<String> keys = new ArrayList<>();
        loaded.get("keys").forEach(k -> keys.add(k.asText()));
        assertEquals(names, keys, "torch.load sees the documented names, in order");
        for (int i = 0; i < sums.size(); i++) assertEquals(sums.get(i), loaded.get("sums").get(i).asDouble(), 1e-9, names.get(i));
        assertEquals("[\"torch.float32\",\"torch.int64\"]", loaded.get("dtypes").toString());
    }

    @Test
    void readsAStateDictWrittenByTorchSave() throws Exception {
        Path file = tmp.resolve("from-python.pt");
        python("""
                import torch, collections
                d = collections.OrderedDict()
                d['fc.weight'] = torch.arange(6, dtype=torch.float32).reshape(2, 3) / 4
                d['fc.bias'] = torch.tensor([-1.5, 2.25])
                d['bn.num_batches_tracked'] = torch.tensor(7)
                torch.save(d, '%s')""".formatted(file));
        Map<String, Tensor> loaded = TensorFiles.load(file);
        try {
            assertEquals(List.of("fc.weight", "fc.bias", "bn.num_batches_tracked"), new ArrayList<>(loaded.keySet()));
            assertArrayEquals(new long[] {2, 3}, loaded.get("fc.weight").shape());
            assertArrayEquals(new float[] {0, 0.25f, 0.5f, 0.75f, 1, 1.25f}, loaded.get("fc.weight").toFloatArray());
            assertArrayEquals(new float[] {-1.5f, 2.25f}, loaded.get("fc.bias").toFloatArray());
            assertEquals(7.0, loaded.get("bn.num_batches_tracked").item());
        } finally {
            loaded.values().forEach(Tensor::close);
        }
        // A real module's state_dict (an OrderedDict with _metadata), non-contiguous tensors and bfloat16 too.
        Path module = tmp.resolve("module.pt");
        python("""
                import torch
                torch.manual_seed(0)
                m = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4)).to(memory_format=torch.channels_last)
                sd = m.state_dict()
                sd['extra.bf16'] = torch.tensor([1.5, -2.0], dtype=torch.bfloat16)
                sd['extra.transposed'] = torch.arange(6.).reshape(2, 3).t()
                torch.save(sd, '%s')""".formatted(module));
        Map<String, Tensor> state = TensorFiles.load(module);
        try {
            assertEquals(List.of("0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var", "1.num_batches_tracked",
                    "extra.bf16", "extra.transposed"), new ArrayList<>(state.keySet()));
            assertArrayEquals(new long[] {4, 3, 3, 3}, state.get("0.weight").shape());
            assertArrayEquals(new float[] {0, 3, 1, 4, 2, 5}, state.get("extra.transposed").toFloatArray(), "strided view rebuilt");
            assertArrayEquals(new float[] {1.5f, -2f}, state.get("extra.bf16").to(dev.shakenet.torch.DType.FLOAT32).toFloatArray());
            double sum = state.get("0.weight").to(dev.shakenet.torch.DType.FLOAT64).sum().item();
            assertEquals(Double.parseDouble(python("""
                    import torch
                    print(float(torch.load('%s')['0.weight'].double().sum()))""".formatted(module))), sum, 1e-9);
        } finally {
            state.values().forEach(Tensor::close);
        }
    }
}
