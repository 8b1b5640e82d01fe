package dev.shakenet.cli;

import dev.shakenet.torch.TensorFiles;
import dev.shakenet.train.AtomicFiles;
import dev.shakenet.train.Checkpoint;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/** shakenet export: a checkpoint's weights as a PyTorch state dict file. */
final class ExportCommand {
    static final String HELP = """
            usage: shakenet export --checkpoint <file.pt | run folder> --out <weights.pt>

            Writes the model's parameters and BatchNorm buffers, under the names in the README,
            as a dict of tensors that Python opens with torch.load(path) and an equivalent
            PyTorch module takes with load_state_dict. A training run starts from such a file
            with --set model.init_from=<weights.pt>.

              --checkpoint PATH    a checkpoint file, or a run folder (its newest checkpoint)
              --out FILE           where to write the weights (written atomically)
              --help               this text""";

    private ExportCommand() {}

    static int run(List<String> argv) throws Exception {
        Args args = Args.parse(argv, Set.of("--checkpoint", "--out"), Set.of(), Set.of("--help"));
        if (args.has("--help")) {
            System.out.println(HELP);
            return 0;
        }
        if (args.get("--checkpoint") == null || args.get("--out") == null) {
            throw new Args.UsageException("both --checkpoint <file.pt | run folder> and --out <weights.pt> are required");
        }
        Path out = Path.of(args.get("--out"));
        try (Checkpoint checkpoint = Checkpoint.read(Path.of(args.get("--checkpoint")))) {
            var weights = checkpoint.section(Checkpoint.MODEL);
            AtomicFiles.write(out, tmp -> TensorFiles.save(tmp, weights));
            System.out.println("wrote " + weights.size() + " tensors (epoch " + checkpoint.meta().epoch() + ") to " + out);
        }
        return 0;
    }
}
