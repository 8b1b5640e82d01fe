package dev.shakenet.train;

import static org.junit.jupiter.api.Assertions.*;

import dev.shakenet.torch.Functional;
import dev.shakenet.torch.NativeLibrary;
import dev.shakenet.torch.Store;
import dev.shakenet.torch.Tensor;
import dev.shakenet.torch.TensorFiles;
import dev.shakenet.torch.TensorScope;
import dev.shakenet.torch.Torch;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Data-parallel training is the same SGD as one process on the whole batch: two ranks (two
 * processes on 127.0.0.1, one libtorch thread each) against one process that runs the two
 * half-batches through the model separately and averages their gradients.
 */
class DataParallelTest {
    @TempDir
    Path tmp;

    @Test
    @Timeout(180)
    void twoRanksStepAsOneProcessAveragingTheirHalfBatchesGradients() throws Exception {
        compare(4, -1);
    }

    @Test
    @Timeout(180)
    void aStepWithNaNOnOneRankIsSkippedOnBothUnderNonfiniteSkip() throws Exception {
        compare(4, 1);
        for (int rank = 0; rank < 2; rank++) {
            assertEquals(List.of("skipped 1"), Files.readAllLines(tmp.resolve("out" + rank + ".txt")).stream().filter(l -> l.startsWith("skipped")).toList(),
                    "rank " + rank + " skips exactly the step whose images were NaN on rank 1");
        }
    }

    /** Runs two ranks for {@code steps} steps (rank 1's images NaN at {@code nanStep} unless negative) and checks them against one process. */
    private void compare(int steps, int nanStep) throws Exception {
        List<Process> workers = new ArrayList<>();
        try (Store store = Store.hostTcp("127.0.0.1", 0, Duration.ofSeconds(60))) {
            for (int rank = 0; rank < 2; rank++) workers.add(worker(rank, store.port(), steps, nanStep));
            for (int rank = 0; rank < 2; rank++) {
                Process p = workers.get(rank);
                assertTrue(p.waitFor(150, TimeUnit.SECONDS), "rank " + rank + " finishes");
                assertEquals(0, p.exitValue(), "rank " + rank + ": " + Files.readString(tmp.resolve("out" + rank + ".txt")));
            }
        } finally {
            workers.forEach(Process::destroyForcibly);
        }
        Map<String, Tensor> rank0 = TensorFiles.load(tmp.resolve("rank0.pt")), rank1 = TensorFiles.load(tmp.resolve("rank1.pt"));
        Map<String, float[]> reference = reference(steps, nanStep);
        assertEquals(reference.keySet(), rank0.keySet());
        double largest = 0;
        for (String name : reference.keySet()) {
            float[] a = rank0.get(name).toFloatArray(), b = rank1.get(name).toFloatArray(), ref = reference.get(name);
            assertArrayEquals(a, b, 0f, name + ": both ranks hold bitwise the same parameters");
            for (int i = 0; i < ref.length; i++) largest = Math.max(largest, Math.abs(a[i] - ref[i]));
            assertArrayEquals(ref, a, 1e-6f, name);
        }
        // the updates moved the parameters by far more than the tolerance, so the comparison means something
        try (TrainingModel fresh = TrainingModel.create(ResolvedRun.of(DataParallelWorker.config()))) {
            float[] initial = fresh.model().namedParameters().get("fc.weight").toFloatArray(), trained = rank0.get("fc.weight").toFloatArray();
            double moved = 0;
            for (int i = 0; i < initial.length; i++) moved = Math.max(moved, Math.abs(initial[i] - trained[i]));
            assertTrue(moved > 1e-3, "fc.weight moved by " + moved);
        }
        System.out.println("data-parallel vs one process: largest parameter difference " + largest);
    }

    /** One process: per step (but {@code skipped}), both ranks' half-batches forward separately, the mean of their gradients, one SGD step. */
    private static Map<String, float[]> reference(int steps, int skipped) throws Exception {
        RunConfig config = DataParallelWorker.config();
        try (TrainingModel training = TrainingModel.create(ResolvedRun.of(config))) {
            Torch.setNumThreads(1);
            for (int k = 0; k < steps; k++) {
                if (k == skipped) continue;
                try (TensorScope scope = TensorScope.open()) {
                    training.model().zeroGrad();
                    for (int rank = 0; rank < 2; rank++) {
                        Tensor logits = training.forwardPass().forward(DataParallelWorker.images(k, rank, config.batchSize()));
                        // half of each loss: the accumulated gradient is the two gradients' mean (scaling by 1/2 is exact)
                        Functional.crossEntropy(logits, DataParallelWorker.labels(k, rank, config.batchSize())).mul(0.5).backward();
                    }
                    training.sgd().step(DataParallelWorker.LR);
                }
            }
            Map<String, float[]> out = new java.util.LinkedHashMap<>();
            training.model().namedParameters().forEach((name, t) -> out.put(name, t.toFloatArray()));
            return out;
        }
    }

    private Process worker(int rank, int port, int steps, int nanStep) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        return new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-Dshakenet.library=" + NativeLibrary.path(), "-cp",
                System.getProperty("java.class.path"), DataParallelWorker.class.getName(), String.valueOf(rank), "2", String.valueOf(port),
                String.valueOf(steps), tmp.resolve("rank" + rank + ".pt").toString(), String.valueOf(nanStep))
                .redirectErrorStream(true).redirectOutput(tmp.resolve("out" + rank + ".txt").toFile()).start();
    }
}
