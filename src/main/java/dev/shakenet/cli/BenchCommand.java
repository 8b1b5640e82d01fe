package dev.shakenet.cli;

import dev.shakenet.data.Cifar;
import dev.shakenet.bench.Benchmark;
import dev.shakenet.train.AtomicFiles;
import dev.shakenet.train.ConfigLoader;
import dev.shakenet.train.DataSource;
import dev.shakenet.train.ResolvedRun;
import dev.shakenet.train.RunConfig;
import dev.shakenet.bench.DataParallelBenchmark;
import dev.shakenet.data.ImageSet;
import dev.shakenet.distributed.LocalLauncher;
import dev.shakenet.distributed.WorkerEnvironment;
import dev.shakenet.train.DataParallel;
import java.nio.file.Path;
import java.util.Optional;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** shakenet bench: throughput of a config's training step, model step and evaluation, as JSON. */
@Command(name = "bench", header = "Time the training step, model step and evaluation of a config, as JSON.",
        sortOptions = false,
        description = {"Times the config's real training step and prints JSON: images/s (median, min, max over the timed "
                + "steps) and step time (the same, and each step's in order) for (1) the full step with the data pipeline "
                + "(shuffle, augment, upload, forward, loss, backward, SGD), (2) the model step alone on a batch already on "
                + "the device, split into forward+loss, backward and optimizer, and (3) evaluation (forward without "
                + "autograd, eval_batch_size); the peak resident memory, the peak device memory on CUDA, device, precision, "
                + "memory format, threads and libtorch version. It counts the model's arithmetic (GFLOP per image) and "
                + "times one large 3x3 convolution in the same precision and layout: the rate libtorch's kernels reach "
                + "here, and so the images/s no step on this libtorch can exceed. Uses CIFAR-10 from data.path when it is "
                + "there, random images otherwise.", ""})
final class BenchCommand implements Callable<Integer> {
    @Mixin
    HelpOption help;

    @Option(names = "--config", required = true, paramLabel = "FILE",
            description = "the run config (its model, batch size, precision, memory_format, threads, device)")
    Path configFile;

    @Mixin
    ConfigOverrides overrides;

    @Option(names = "--steps", paramLabel = "N", defaultValue = "20", converter = PositiveInt.class,
            description = "timed steps per measurement (default: ${DEFAULT-VALUE})")
    int steps;

    @Option(names = "--warmup", paramLabel = "N", defaultValue = "10", converter = PositiveInt.class,
            description = "untimed steps first, while the JVM compiles the step's code (default: ${DEFAULT-VALUE})")
    int warmup;

    @Option(names = "--profile", paramLabel = "N", converter = PositiveInt.class,
            description = "also profile N training steps with libtorch's profiler (libtorch 1.x): the ops with the most "
                    + "self time, per step, under \"profile\"")
    int profile;

    @Option(names = "--out", paramLabel = "FILE", description = "also write the JSON to FILE")
    Path out;

    @Option(names = RankCommand.OPTION, paramLabel = "N", converter = PositiveInt.class,
            description = "time the data-parallel training step instead: N processes of this machine (1: one process alone, "
                    + "for comparison), each with the config's batch_size and threads; images/s of all ranks and the gradient "
                    + "allreduce's time per step")
    Integer nprocPerNode;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        RunConfig config = ConfigLoader.load(configFile, overrides.values);
        Optional<WorkerEnvironment> worker = WorkerEnvironment.current(config.distributed());
        if (nprocPerNode != null && worker.isEmpty() && nprocPerNode > 1) {
            return LocalLauncher.run(RankCommand.forThisJvm("bench", spec.commandLine().getParseResult().expandedArgs()), nprocPerNode,
                    LocalLauncher.GRACE, System.out, System.err);
        }
        if (nprocPerNode != null || worker.isPresent()) return dataParallel(config, worker);
        ResolvedRun run = ResolvedRun.of(config);
        Cifar.Splits data;
        String source;
        if (Cifar.find(config.data().format(), Path.of(config.data().path())) != null) {
            data = DataSource.load(config.data().with(config.data().path(), false, config.data().augment(), 0, 0));
            source = config.data().format().name() + " at " + config.data().path();
        } else {
            int n = config.batchSize() * (steps + warmup);
            data = new Cifar.Splits(Benchmark.synthetic(n, 1), Benchmark.synthetic(config.evalBatchSize(), 2));
            source = "synthetic (no " + config.data().format().name() + " at " + config.data().path() + ")";
        }
        Map<String, Object> report = Benchmark.run(run, data, source, steps, warmup, profile);
        print(report);
        return 0;
    }

    /** This process's part of the data-parallel benchmark (alone when {@code worker} is empty); rank 0 prints. */
    private int dataParallel(RunConfig config, Optional<WorkerEnvironment> worker) throws Exception {
        ResolvedRun run = worker.map(w -> ResolvedRun.of(config, w)).orElseGet(() -> ResolvedRun.of(config));
        try (DataParallel dp = worker.isPresent() ? DataParallel.join(worker.get(), config.distributed(), run.device()) : DataParallel.single()) {
            boolean real = Cifar.find(config.data().format(), Path.of(config.data().path())) != null;
            ImageSet train = real ? DataSource.load(config.data().with(config.data().path(), false, config.data().augment(), 0, 0)).train()
                    : Benchmark.synthetic(config.batchSize() * dp.worldSize() * (steps + warmup), 1);
            String source = real ? config.data().format().name() + " at " + config.data().path() : "synthetic (no " + config.data().format().name() + " at " + config.data().path() + ")";
            Map<String, Object> report = DataParallelBenchmark.run(run, dp, train, source, steps, warmup);
            if (dp.isLeader()) print(report);
        }
        return 0;
    }

    private void print(Map<String, Object> report) throws java.io.IOException {
        String json = ConfigLoader.JSON.writeValueAsString(report);
        System.out.println(json);
        if (out != null) AtomicFiles.writeString(out, json + "\n");
    }
}
