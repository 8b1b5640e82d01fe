package dev.shakenet.train;

import static org.junit.jupiter.api.Assertions.*;

import dev.shakenet.data.Cifar;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * 2,000 training steps through the real Trainer leave resident memory flat: every path a run
 * takes per step (upload, forward, loss, backward, SGD, metric sums, progress lines) and per
 * epoch (evaluation, metrics line, curves.png, checkpoints) goes round many times after the
 * first 200 steps, which warm up the allocator pools, the JIT and the engine's caches.
 *
 * <p>A leak of one batch per step (8 images, 8*3*32*32*4 = 98 KB) would add ~177 MB over the
 * 1,800 measured steps, one of the model's smallest activations (8*16*8*8*4 = 32 KB) ~58 MB.
 * Measured growth is 2 to 12 MB with either engine, so the bound is 32 MB. Leaks of a handle's
 * size per op are SoakTest's to find. (Surefire runs this JVM with a fixed, pre-touched heap,
 * so the JVM's own heap growth does not count.)
 */
class TrainingMemoryTest {
    static final long BOUND = 32L << 20;
    static final int WARM_UP_EPOCHS = 4, EPOCHS = 40; // 50 steps per epoch: 200 warm-up steps, 2,000 in all

    @TempDir
    Path tmp;

    /** VmRSS, as SoakTest reads it. */
    static long residentBytes() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
        }
        throw new IllegalStateException("no VmRSS in /proc/self/status");
    }

    @ParameterizedTest
    @ValueSource(strings = {"auto", "reference"})
    void residentMemoryStaysFlatOver2000Steps(String engine) throws IOException {
        // One thread: the kernels' tiny tensors gain nothing from two, and on a shared machine two
        // oversubscribed threads make the run up to 20 times slower.
        RunConfig c = TrainerTest.config("""
                {"model": {"depth": 8, "width": 4}, "epochs": 40, "batch_size": 8, "eval_batch_size": 16, "device": "cpu", "threads": 1,
                 "optimizer": {"lr": 0.02}, "schedule": {"type": "constant"}, "eval_interval": 4, "log_interval": 25,
                 "checkpoint": {"interval": 4, "keep_last": 2}}""", "engine=" + engine);
        // 400 training images at batch 8: 50 steps per epoch; 40 test images: evaluation is cheap.
        Cifar.Splits data = new Cifar.Splits(TrainerTest.noise(400, 7), TrainerTest.noise(40, 8));
        List<String> series = new ArrayList<>();
        long before, after;
        try (Trainer trainer = new Trainer(ResolvedRun.of(c), data, tmp)) {
            trainer.runUntil(WARM_UP_EPOCHS);
            before = after = residentBytes();
            series.add("epoch " + WARM_UP_EPOCHS + ": " + (before >> 20) + " MB");
            for (int epoch = 8; epoch <= EPOCHS; epoch += 8) {
                trainer.runUntil(epoch);
                after = residentBytes();
                series.add("epoch " + epoch + ": " + (after >> 20) + " MB");
            }
        }
        long growth = after - before;
        System.out.println("engine " + engine + ": " + String.join(", ", series)); // the measurement the bound was chosen from
        assertTrue(growth < BOUND, "resident memory grew by " + (growth >> 20) + " MB over 1,800 steps (bound " + (BOUND >> 20)
                + " MB), engine " + engine + ": " + String.join(", ", series));
    }
}
