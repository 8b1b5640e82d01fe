package dev.shakenet.train;

import static org.junit.jupiter.api.Assertions.*;

import dev.shakenet.torch.DType;
import dev.shakenet.torch.Device;
import dev.shakenet.torch.Tensor;
import dev.shakenet.torch.TensorScope;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a run does when things go wrong: an inf or NaN (stop, skip, never into a checkpoint or
 * metrics.jsonl), a stop request in the middle of an epoch (a checkpoint of that step and an
 * exact resume), and a damaged newest checkpoint (the resume falls back to the previous one).
 */
class ReliabilityTest {
    @TempDir
    Path tmp;

    @AfterEach
    void reset() {
        Trainer.afterStep = update -> {};
        StopRequest.disarm();
    }

    static final String TINY = CheckpointTest.TINY; // 48 images, batch 16: 3 steps per epoch, 4 epochs

    private static List<String> results(Path run) throws IOException {
        return CheckpointTest.results(run);
    }

    private Path straightRun() throws IOException {
        Path straight = Files.createDirectories(tmp.resolve("straight"));
        try (Trainer t = new Trainer(ResolvedRun.of(CheckpointTest.config(TINY)), CheckpointTest.data(), straight)) {
            t.run();
        }
        return straight;
    }

    /** A run of TINY that a stop request for {@code reason}, asked after global update {@code update}, ends; returns its folder. */
    private Path stoppedRun(long update, StopRequest.Reason reason) throws IOException {
        Path stopped = Files.createDirectories(tmp.resolve("stopped"));
        StopRequest.arm();
        Trainer.afterStep = u -> {
            if (u == update) StopRequest.ask(reason);
        };
        try (Trainer t = new Trainer(ResolvedRun.of(CheckpointTest.config(TINY)), CheckpointTest.data(), stopped)) {
            assertEquals(reason, assertThrows(StopRequest.Stopped.class, t::run).reason());
        } finally {
            StopRequest.disarm();
            Trainer.afterStep = u -> {};
        }
        return stopped;
    }

    /** Resumes {@code run} from its newest checkpoint, which must be {@code expected}, to the end. */
    private static void resumeFrom(Path run, Path expected) throws IOException {
        try (Checkpoint checkpoint = Checkpoint.read(run);
             Trainer t = new Trainer(ResolvedRun.of(CheckpointTest.config(TINY)), CheckpointTest.data(), run, checkpoint)) {
            assertEquals(expected, checkpoint.file());
            t.run();
        }
    }

    @Test
    void aStopRequestMidEpochWritesThatStepAndTheResumedRunEqualsAnUninterruptedOne() throws IOException {
        Path straight = straightRun();
        Path stopped = stoppedRun(7, StopRequest.Reason.SIGTERM); // after step 2 of epoch 3
        assertEquals(2, results(stopped).size(), "epoch 3 was not finished: no line for it");
        Path midEpoch = Checkpoints.fileFor(stopped, 2, 2);
        try (Checkpoint checkpoint = Checkpoint.read(midEpoch)) {
            assertEquals(8, checkpoint.meta().step());
            assertEquals(2, checkpoint.meta().progress().batchesDone());
        }
        resumeFrom(stopped, midEpoch);
        assertEquals(results(straight), results(stopped), "every metric but the timings equals the uninterrupted run's");
        assertFalse(Files.exists(midEpoch), "a newer checkpoint replaces the mid-epoch one");
    }

    @Test
    void aStopRequestDuringEvaluationResumesAtTheEvaluation() throws IOException {
        Path straight = straightRun();
        Path stopped = stoppedRun(5, StopRequest.Reason.SIGINT); // the last step of epoch 2: seen inside its evaluation
        resumeFrom(stopped, Checkpoints.fileFor(stopped, 1, 3)); // all 3 batches of epoch 2 done, its evaluation not
        assertEquals(results(straight), results(stopped));
    }

    @Test
    void aDamagedNewestCheckpointFallsBackToThePreviousAndIsKept() throws IOException {
        Path straight = straightRun();
        Path run = Files.createDirectories(tmp.resolve("run"));
        RunConfig c = CheckpointTest.config(TINY);
        try (Trainer t = new Trainer(ResolvedRun.of(c), CheckpointTest.data(), run)) {
            t.runUntil(3);
        }
        Path newest = Checkpoints.fileFor(run, 3);
        byte[] bytes = Files.readAllBytes(newest);
        for (int i = 0; i < 64; i++) bytes[bytes.length / 2 + i] ^= (byte) 0x5A;
        Files.write(newest, bytes, StandardOpenOption.TRUNCATE_EXISTING);
        DamagedCheckpointException damaged = assertThrows(DamagedCheckpointException.class, () -> Checkpoint.read(newest));
        assertTrue(damaged.getMessage().contains(newest.toString()) && damaged.getMessage().contains("CRC-32"), damaged.getMessage());
        try (Checkpoint checkpoint = Checkpoint.readNewestIntact(run).orElseThrow()) {
            assertEquals(Checkpoints.fileFor(run, 2), checkpoint.file());
            try (Trainer t = new Trainer(ResolvedRun.of(c), CheckpointTest.data(), run, checkpoint)) {
                t.run();
            }
        }
        Path aside = newest.resolveSibling(newest.getFileName() + Checkpoint.DAMAGED_SUFFIX);
        assertArrayEquals(bytes, Files.readAllBytes(aside), "the damaged file is kept, byte for byte, under another name");
        assertEquals(results(straight), results(run), "epochs 3 and 4 redone from epoch 2's checkpoint");
    }

    @Test
    void aDivergingRunStopsWithoutACheckpointOrANaNInItsMetrics() throws IOException {
        Path run = Files.createDirectories(tmp.resolve("run"));
        RunConfig c = CheckpointTest.config(TINY, "optimizer.lr=1e6", "schedule.type=constant");
        try (Trainer t = new Trainer(ResolvedRun.of(c), CheckpointTest.data(), run)) {
            NonFiniteException e = assertThrows(NonFiniteException.class, t::run);
            assertTrue(e.getMessage().matches("the loss, gradients or batch norm statistics hold inf or NaN at epoch 1, step \\d of 3 \\(update \\d of the run\\), "
                    + "learning rate 1000000: .*lower optimizer.lr.*warm-up.*nonfinite: skip.*"), e.getMessage());
        }
        assertEquals(List.of(), Checkpoints.epochFiles(run), "no checkpoint of a model with inf or NaN");
        assertFalse(Files.exists(run.resolve(Checkpoints.DIR).resolve(Checkpoints.BEST)));
        assertTrue(!Files.exists(run.resolve(MetricsLog.FILE)) || Files.readString(run.resolve(MetricsLog.FILE)).isEmpty(),
                "the epoch that diverged writes no line");
    }

    @Test
    void skipDropsTheUpdateAndTheStatisticsOfANonFiniteStepThenStopsAfterPatience() throws IOException {
        RunConfig c = CheckpointTest.config(TINY, "nonfinite=skip", "nonfinite_patience=2", "engine=reference");
        try (TrainingModel training = TrainingModel.create(ResolvedRun.of(c));
             NonFiniteGuard guard = new NonFiniteGuard(c.nonfinite(), c.nonfinitePatience(), Device.CPU,
                     List.copyOf(training.model().namedBuffers().values()), u -> "update " + (u + 1), "Likely fixes: ...");
             TensorScope scope = TensorScope.open()) {
            TrainStep step = new TrainStep(training, guard, DataParallel.single());
            float[] pixels = new float[4 * 3 * 32 * 32];
            for (int i = 0; i < pixels.length; i++) pixels[i] = (float) Math.sin(i);
            Tensor labels = Tensor.fromLongs(new long[] {0, 1, 2, 3}, 4);
            ForwardPass.DeviceBatch good = new ForwardPass.DeviceBatch(Tensor.fromFloats(pixels, 4, 3, 32, 32), labels);
            pixels[5] = Float.NaN;
            ForwardPass.DeviceBatch bad = new ForwardPass.DeviceBatch(Tensor.fromFloats(pixels, 4, 3, 32, 32), labels);

            assertTrue(step.run(good, 0.1, 0).applied());
            Map<String, float[]> before = snapshot(training);
            assertFalse(step.run(bad, 0.1, 1).applied(), "a NaN in the batch: the update is skipped");
            Map<String, float[]> after = snapshot(training);
            for (String name : before.keySet()) assertArrayEquals(before.get(name), after.get(name), name + " is as before the skipped step");
            assertTrue(step.run(good, 0.1, 2).applied(), "a finite step after it is applied");
            assertFalse(step.run(bad, 0.1, 3).applied());
            NonFiniteException e = assertThrows(NonFiniteException.class, () -> step.run(bad, 0.1, 4));
            assertTrue(e.getMessage().contains("in 2 steps in a row (nonfinite_patience), the last at update 5"), e.getMessage());
        }
    }

    /** Parameters, buffers and momentum as float arrays (int64 buffers as floats too). */
    private static Map<String, float[]> snapshot(TrainingModel training) {
        Map<String, float[]> out = new java.util.LinkedHashMap<>();
        training.model().stateDict().forEach((name, t) -> out.put(name, t.to(DType.FLOAT32).toFloatArray()));
        List<Tensor> momentum = training.sgd().momentumBuffers();
        for (int i = 0; i < momentum.size(); i++) out.put("momentum " + i, momentum.get(i).toFloatArray());
        return out;
    }

    @Test
    void aCheckpointOfANonFiniteModelIsRefusedNamingTheTensor() throws IOException {
        RunConfig c = CheckpointTest.config(TINY);
        Path file = tmp.resolve("nan.pt");
        try (TrainingModel training = TrainingModel.create(ResolvedRun.of(c)); TensorScope scope = TensorScope.open()) {
            Tensor weight = training.model().namedParameters().get("fc.weight");
            float[] values = weight.toFloatArray();
            values[3] = Float.POSITIVE_INFINITY;
            try (var noGrad = dev.shakenet.torch.Torch.noGrad()) {
                weight.copyFrom(Tensor.fromFloats(values, weight.shape()));
            }
            try (Checkpoint checkpoint = Checkpoint.capture(training, 1, 3, null, null)) {
                NonFiniteException e = assertThrows(NonFiniteException.class, () -> checkpoint.write(file));
                assertTrue(e.getMessage().contains("model.fc.weight"), e.getMessage());
            }
        }
        assertFalse(Files.exists(file));
    }

    @Test
    void metricsWriteNullWhereAValueIsNotFinite() throws IOException {
        try (MetricsLog log = new MetricsLog(tmp)) {
            log.write(new EpochMetrics(1, 0.1, Double.NaN, 0.5, Double.POSITIVE_INFINITY, 0.25, 100, 2, 3));
        }
        String line = Files.readString(tmp.resolve(MetricsLog.FILE)).strip();
        assertEquals("{\"epoch\":1,\"lr\":0.1,\"train_loss\":null,\"train_accuracy\":0.5,\"test_loss\":null,\"test_accuracy\":0.25,"
                + "\"images_per_second\":100.0,\"seconds\":2.0,\"skipped_steps\":3}", line);
        List<String> kept = new ArrayList<>(List.of(line));
        assertEquals(kept, Files.readAllLines(tmp.resolve(MetricsLog.FILE)));
    }
}
