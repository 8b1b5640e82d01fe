package dev.shakenet.cli;

import dev.shakenet.data.Cifar10;
import dev.shakenet.train.ConfigLoader;
import dev.shakenet.train.DataSource;
import dev.shakenet.train.Devices;
import dev.shakenet.train.RunConfig;
import dev.shakenet.train.RunDirectory;
import dev.shakenet.train.Trainer;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/** shakenet train: trains a Shake-Shake ResNet on CIFAR-10 from a JSON run config. */
final class TrainCommand {
    private static final Logger LOG = LogManager.getLogger(TrainCommand.class);

    static final String HELP = """
            usage: shakenet train --config <file.json> [--set key.path=value]...

            Trains the run a JSON config describes (see config/ and the README for every key and
            its default), evaluating on the test set every eval_interval epochs. The run folder
            (output, or runs/<name>-<time>) receives config.json (the resolved config),
            metrics.jsonl (one JSON line per epoch) and train.log.

              --config FILE        the run config (required)
              --set KEY=VALUE      override one key, e.g. --set epochs=10 --set optimizer.lr=0.05
                                   --set data.path=../shared/data (repeatable)
              --help               this text""";

    private TrainCommand() {}

    static int run(List<String> argv) throws Exception {
        Args args = Args.parse(argv, Set.of("--config"), Set.of("--set"), Set.of("--help"));
        if (args.has("--help")) {
            System.out.println(HELP);
            return 0;
        }
        if (args.get("--config") == null) throw new Args.UsageException("--config <file.json> is required, e.g. --config config/cpu-quick.json");
        RunConfig config = ConfigLoader.load(Path.of(args.get("--config")), args.all("--set"));
        Devices.resolve(config.device()); // a device that is not here fails before any work
        Cifar10.Splits data = DataSource.load(config.data());
        Path runDir = RunDirectory.create(config);
        RunDirectory.logTo(runDir);
        LOG.info("run {} -> {}", config.name(), runDir.toAbsolutePath().normalize());
        try (Trainer trainer = new Trainer(config, data, runDir)) {
            trainer.run();
        }
        LOG.info("done: {}", runDir.resolve("metrics.jsonl"));
        return 0;
    }
}
