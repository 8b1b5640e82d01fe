package dev.shakenet.bench;

import dev.shakenet.data.Batches;
import dev.shakenet.data.ImageSet;
import dev.shakenet.torch.Device;
import dev.shakenet.torch.TensorScope;
import dev.shakenet.torch.Torch;
import dev.shakenet.train.DataParallel;
import dev.shakenet.train.ForwardPass;
import dev.shakenet.train.ResolvedRun;
import dev.shakenet.train.RunConfig;
import dev.shakenet.train.RunInfo;
import dev.shakenet.train.TrainStep;
import dev.shakenet.train.TrainingModel;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The full training step (data, forward, backward, gradient averaging, SGD) of one rank of a
 * data-parallel run, or of a process alone for comparison: the images all ranks train per
 * second, and how long each step waits in the gradient allreduce (which includes any wait for a
 * slower rank). Every rank runs it; rank 0's figures are reported.
 */
public final class DataParallelBenchmark {
    private DataParallelBenchmark() {}

    public static Map<String, Object> run(ResolvedRun run, DataParallel dp, ImageSet train, String dataSource, int steps, int warmup) {
        RunConfig config = run.config();
        Device device = run.device();
        int batch = config.batchSize(), world = dp.worldSize();
        double[] seconds = new double[steps], allreduce = new double[steps];
        Map<String, Object> out = new LinkedHashMap<>();
        try (TrainingModel training = TrainingModel.create(run); TrainStep step = new TrainStep(training, dp)) {
            RunConfig.Model m = config.model();
            long parameters = training.model().parameterCount();
            out.put("config", config.name());
            out.put("model", m.title());
            out.put("processes", world);
            out.put("backend", dp.isDistributed() ? dp.backendName() : "none");
            out.put("threads_per_process", Torch.numThreads());
            out.put("device", device.toString());
            out.put("device_name", RunInfo.deviceName(device));
            out.put("engine", training.engine().name());
            out.put("batch_size_per_process", batch);
            out.put("images_per_step", batch * world);
            out.put("parameters", parameters);
            out.put("allreduce_bytes_per_step", parameters * 4);
            out.put("bucket_mb", config.distributed().bucketMb());
            out.put("libtorch", Torch.version());
            out.put("data", dataSource);
            out.put("warmup_steps", warmup);
            out.put("timed_steps", steps);
            ForwardPass forward = training.forwardPass();
            dp.copyFromLeader(training.model().stateDict().values());
            ImageSet images = Benchmark.repeat(train, batch * world * (steps + warmup));
            try (Batches batches = Batches.training(images, batch, config.seed(), 0, config.data().augment(), device.isCuda(), 0, dp.rank(), world,
                    config.data().cutout())) {
                for (int i = 0; i < warmup + steps; i++) {
                    double before = step.allreduceSeconds();
                    long start = System.nanoTime();
                    try (TensorScope scope = TensorScope.open()) {
                        step.run(forward.upload(batches.next()), config.optimizer().lr(), i);
                        Torch.synchronize(device);
                    }
                    if (i >= warmup) {
                        seconds[i - warmup] = (System.nanoTime() - start) / 1e9;
                        allreduce[i - warmup] = step.allreduceSeconds() - before;
                    }
                }
            }
        }
        double[] rate = new double[steps];
        for (int i = 0; i < steps; i++) rate[i] = (double) batch * world / seconds[i];
        Stats stepStats = Stats.of(seconds), allreduceStats = Stats.of(allreduce);
        out.put("images_per_second", Stats.of(rate));
        out.put("step_seconds", stepStats);
        out.put("allreduce_seconds", allreduceStats);
        out.put("allreduce_share_of_step", allreduceStats.median() / stepStats.median());
        out.put("each_step_seconds", Arrays.stream(seconds).map(s -> Math.round(s * 1e5) / 1e5).toArray());
        out.put("peak_rss_bytes", Benchmark.peakResidentBytes());
        return out;
    }
}
