package dev.shakenet.cli;

import dev.shakenet.data.Cifar10;
import dev.shakenet.train.AtomicFiles;
import dev.shakenet.train.Benchmark;
import dev.shakenet.train.ConfigLoader;
import dev.shakenet.train.DataSource;
import dev.shakenet.train.RunConfig;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** shakenet bench: throughput of a config's training step, model step and evaluation, as JSON. */
final class BenchCommand {
    static final String HELP = """
            usage: shakenet bench --config <file.json> [--set key.path=value]... [--steps N] [--warmup N] [--profile N] [--out FILE]

            Times the config's real training step and prints JSON: images/s (median, min, max over
            the timed steps) and step time (the same, and each step's in order) for (1) the full
            step with the data pipeline (shuffle, augment, upload, forward, loss, backward, SGD),
            (2) the model step alone on a batch already on the device, split into forward+loss,
            backward and optimizer, and (3) evaluation (forward without autograd,
            eval_batch_size); the peak resident memory, the peak device memory on CUDA, device,
            precision, memory format, threads and libtorch version. It counts the model's
            arithmetic (GFLOP per image) and times one large 3x3 convolution in the same
            precision and layout: the rate libtorch's kernels reach here, and so the images/s no
            step on this libtorch can exceed. Uses CIFAR-10 from data.path
            when it is there, random images otherwise.

              --config FILE   the run config (its model, batch size, precision, memory_format, threads, device)
              --set K=V       override a key, e.g. --set precision=bf16 --set batch_size=128
              --steps N       timed steps per measurement (default 20)
              --warmup N      untimed steps first (default 10: the JVM compiles the step's own
                              code during the first few; with 3 the first section ran 3% slow)
              --profile N     also profile N training steps with libtorch's profiler (libtorch 1.x):
                              the ops with the most self time, per step, under "profile"
              --out FILE      also write the JSON to FILE
              --help          this text""";

    private BenchCommand() {}

    static int run(List<String> argv) throws Exception {
        Args args = Args.parse(argv, Set.of("--config", "--steps", "--warmup", "--profile", "--out"), Set.of("--set"), Set.of("--help"));
        if (args.has("--help")) {
            System.out.println(HELP);
            return 0;
        }
        if (args.get("--config") == null) throw new Args.UsageException("--config <file.json> is required, e.g. --config config/cpu-quick.json");
        int steps = args.get("--steps") == null ? 20 : Args.positiveInt("--steps", args.get("--steps"));
        int warmup = args.get("--warmup") == null ? 10 : Args.positiveInt("--warmup", args.get("--warmup"));
        int profile = args.get("--profile") == null ? 0 : Args.positiveInt("--profile", args.get("--profile"));
        RunConfig config = ConfigLoader.load(Path.of(args.get("--config")), args.all("--set"));
        Cifar10.Splits data;
        String source;
        if (Cifar10.find(Path.of(config.data().path())) != null) {
            data = DataSource.load(new RunConfig.Data(config.data().path(), false, config.data().augment(), 0, 0));
            source = "cifar-10 at " + config.data().path();
        } else {
            int n = config.batchSize() * (steps + warmup);
            data = new Cifar10.Splits(Benchmark.synthetic(n, 1), Benchmark.synthetic(config.evalBatchSize(), 2));
            source = "synthetic (no CIFAR-10 at " + config.data().path() + ")";
        }
        Map<String, Object> report = Benchmark.run(config, data, source, steps, warmup, profile);
        String json = ConfigLoader.JSON.writeValueAsString(report);
        System.out.println(json);
        if (args.get("--out") != null) AtomicFiles.writeString(Path.of(args.get("--out")), json + "\n");
        return 0;
    }
}
