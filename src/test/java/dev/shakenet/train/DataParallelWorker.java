package dev.shakenet.train;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.shakenet.distributed.WorkerEnvironment;
import dev.shakenet.torch.DType;
import dev.shakenet.torch.Device;
import dev.shakenet.torch.Generator;
import dev.shakenet.torch.Tensor;
import dev.shakenet.torch.TensorFiles;
import dev.shakenet.torch.TensorScope;
import java.nio.file.Path;
import java.util.List;

/**
 * One rank of DataParallelTest's equivalence check, run as its own process: joins the store the
 * test hosts (as torchrun's workers join the agent's), runs K training steps on its half of each
 * step's batch through TrainStep, and saves its parameters.
 * <p>
 * Arguments: rank, world size, store port, steps, output file, and optionally a step at which
 * rank 1's images are NaN (under nonfinite: skip); it prints "skipped K" for each step not applied.
 */
public final class DataParallelWorker {
    /** Tiny, and without randomness in the model (shake "even" both ways), so one process can redo it. */
    static final String CONFIG = """
            {"model": {"depth": 8, "width": 4, "shake_forward": "even", "shake_backward": "even"}, "batch_size": 6, "device": "cpu",
             "threads": 1, "engine": "reference", "distributed": {"timeout_seconds": 60, "bucket_mb": 0.01}}""";
    static final double LR = 0.2;

    public static void main(String[] args) throws Exception {
        int rank = Integer.parseInt(args[0]), world = Integer.parseInt(args[1]), port = Integer.parseInt(args[2]), steps = Integer.parseInt(args[3]);
        Path out = Path.of(args[4]);
        int nanStep = args.length > 5 ? Integer.parseInt(args[5]) : -1;
        RunConfig config = nanStep < 0 ? config() : config("nonfinite=skip");
        WorkerEnvironment env = new WorkerEnvironment("test", rank, world, rank, "127.0.0.1", port, true, WorkerEnvironment.agentPrefix(0));
        ResolvedRun run = ResolvedRun.of(config, env);
        try (DataParallel dp = DataParallel.join(env, config.distributed(), run.device()); TrainingModel training = TrainingModel.create(run);
             TrainStep step = new TrainStep(training, dp)) {
            dp.copyFromLeader(training.model().stateDict().values());
            for (int k = 0; k < steps; k++) {
                try (TensorScope scope = TensorScope.open()) {
                    Tensor images = k == nanStep && rank == 1 ? Tensor.full(Double.NaN, DType.FLOAT32, Device.CPU, config.batchSize(), 3, 32, 32)
                            : images(k, rank, config.batchSize());
                    if (!step.run(new ForwardPass.DeviceBatch(images, labels(k, rank, config.batchSize())), LR, k).applied()) {
                        System.out.println("skipped " + k);
                    }
                }
            }
            TensorFiles.save(out, training.model().namedParameters());
        }
        System.exit(0);
    }

    static RunConfig config(String... overrides) throws java.io.IOException {
        return ConfigLoader.resolve((ObjectNode) ConfigLoader.JSON.readTree(CONFIG), List.of(overrides));
    }

    /** Rank {@code rank}'s images of step {@code k}: normal noise from a generator seeded by (k, rank). */
    static Tensor images(int k, int rank, int n) {
        try (Generator g = Generator.create(Device.CPU, 1000 + 2L * k + rank)) {
            return Tensor.randn(0, 1, DType.FLOAT32, Device.CPU, g, n, 3, 32, 32);
        }
    }

    static Tensor labels(int k, int rank, int n) {
        long[] l = new long[n];
        for (int i = 0; i < n; i++) l[i] = (7L * i + 3L * k + rank) % 10;
        return Tensor.fromLongs(l, n);
    }
}
