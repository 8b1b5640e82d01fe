package dev.shakenet.cli;

import dev.shakenet.distributed.LocalLauncher;
import dev.shakenet.train.TrainingRun;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** shakenet train: trains a Shake-Shake ResNet on CIFAR-10 from a JSON run config, or resumes a run. */
@Command(name = "train", header = "Train a Shake-Shake ResNet on CIFAR-10 from a JSON run config, or resume a run.",
        sortOptions = false,
        description = {
            "Trains the run a JSON config describes (config/README.md lists every key and its default), evaluating on the "
                    + "test set every eval_interval epochs. The run folder (output, or runs/<name>-<time>) receives config.json "
                    + "(the resolved config), metrics.jsonl (one JSON line per epoch), train.log, run.json (versions, device, "
                    + "git commit) and checkpoints/ (epoch-NNNN.pt, best.pt).",
            "",
            "--resume continues a run from its newest checkpoint, with the run's config.json (or --config) and the --set "
                    + "changes; a change of the model's shape is refused, other changes (more epochs, say) are logged.",
            "",
            "--nproc-per-node N trains on N processes of this machine, data-parallel, as torchrun --nproc-per-node N "
                    + "would start them: each line they print begins with [rank r], and when one fails the others are stopped.",
            ""})
final class TrainCommand implements Callable<Integer> {
    @Mixin
    HelpOption help;

    @Spec
    CommandSpec spec;

    @Option(names = "--config", paramLabel = "FILE", description = "the run config (JSON)")
    Path configFile;

    @Option(names = "--resume", paramLabel = "FOLDER", description = "the run folder to continue")
    Path resume;

    @Mixin
    ConfigOverrides overrides;

    @Option(names = RankCommand.OPTION, paramLabel = "N", converter = PositiveInt.class,
            description = "train on N data-parallel processes (ranks) of this machine, like torchrun --nproc-per-node N")
    Integer nprocPerNode;

    @Override
    public Integer call() throws Exception {
        if (resume == null && configFile == null) {
            throw new ParameterException(spec.commandLine(),
                    "--config <file.json> is required (or --resume <run folder>), e.g. --config config/cpu-quick.json");
        }
        if (nprocPerNode != null) {
            String refusal = RankCommand.refusal(System.getenv());
            if (refusal != null) throw new ParameterException(spec.commandLine(), refusal);
            if (nprocPerNode > 1) {
                // this command does not train: it runs itself again as each rank (without the option), as torchrun would
                List<String> rank = RankCommand.forThisJvm("train", spec.commandLine().getParseResult().expandedArgs());
                return LocalLauncher.run(rank, nprocPerNode, LocalLauncher.GRACE, System.out, System.err);
            }
        }
        List<String> argv = spec.commandLine().getParseResult().originalArgs();
        TrainingRun.Outcome outcome = resume == null ? TrainingRun.start(configFile, overrides.values, argv)
                : TrainingRun.resume(resume, configFile, overrides.values, argv);
        return outcome.exitCode; // 3: inf/NaN; 130 / 143: stopped by SIGINT / SIGTERM (128 + the signal's number), as shells expect
    }
}
