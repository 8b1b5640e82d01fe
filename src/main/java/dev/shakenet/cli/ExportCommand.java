package dev.shakenet.cli;

import dev.shakenet.torch.Device;
import dev.shakenet.torch.TensorFiles;
import dev.shakenet.train.AtomicFiles;
import dev.shakenet.train.Checkpoint;
import dev.shakenet.train.TrainingModel;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** shakenet export: a checkpoint's weights as a PyTorch state dict file. */
@Command(name = "export", header = "Write a checkpoint's weights as a PyTorch state dict (torch.load opens it).",
        sortOptions = false,
        description = {"Writes the model's parameters and BatchNorm buffers, under PyTorch-style names, as a dict of tensors "
                + "that Python opens with torch.load(path) and an equivalent PyTorch module takes with load_state_dict. A "
                + "training run starts from such a file with --set model.init_from=<weights.pt>.", ""})
final class ExportCommand implements Callable<Integer> {
    @Mixin
    HelpOption help;

    @Option(names = "--checkpoint", required = true, paramLabel = "PATH",
            description = "a checkpoint file, or a run folder (its newest checkpoint)")
    Path checkpointPath;

    @Option(names = "--out", required = true, paramLabel = "FILE", description = "where to write the weights (written atomically)")
    Path out;

    @Override
    public Integer call() throws Exception {
        // Through the model, on the CPU: what is written is what model.init_from loads, checked against the checkpoint's config.
        try (Checkpoint checkpoint = Checkpoint.read(checkpointPath); TrainingModel model = TrainingModel.fromCheckpoint(checkpoint, Device.CPU)) {
            var weights = model.model().stateDict();
            AtomicFiles.write(out, TensorFiles.sizeOf(weights), tmp -> TensorFiles.save(tmp, weights), TensorFiles::verify);
            System.out.println("wrote " + weights.size() + " tensors (epoch " + checkpoint.meta().epoch() + ") to " + out);
        }
        return 0;
    }
}
