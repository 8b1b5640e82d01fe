package dev.shakenet.cli;

import dev.shakenet.data.Cifar;
import dev.shakenet.torch.Device;
import dev.shakenet.train.Checkpoint;
import dev.shakenet.train.ConfigLoader;
import dev.shakenet.train.DataSource;
import dev.shakenet.train.Devices;
import dev.shakenet.train.Evaluator;
import dev.shakenet.train.RunConfig;
import dev.shakenet.train.TrainingModel;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** shakenet eval: test loss, accuracy, per-class accuracy and confusion matrix of a checkpoint. */
@Command(name = "eval", header = "Test loss, accuracy, per-class accuracy and confusion matrix of a checkpoint.",
        sortOptions = false,
        description = {"Evaluates a checkpoint (a run folder means its newest one) on the CIFAR-10 test set and prints the "
                + "test loss, accuracy, per-class accuracy and the confusion matrix (rows: true class, columns: predicted), "
                + "as text, as one JSON object, or both (the JSON object is the last line).", ""})
final class EvalCommand implements Callable<Integer> {
    @Mixin
    HelpOption help;

    /** What eval prints. */
    enum Format { text, json, both }

    @Option(names = "--checkpoint", required = true, paramLabel = "PATH", description = "a checkpoint file or a run folder")
    Path checkpointPath;

    @Option(names = "--data", paramLabel = "PATH", description = "CIFAR-10 location (default: the checkpoint's data.path)")
    String dataPath;

    @Option(names = "--device", paramLabel = "DEVICE", completionCandidates = DeviceNames.class,
            description = "auto, cpu, cuda or cuda:N (default: the checkpoint's device)")
    String device;

    @Option(names = "--batch-size", paramLabel = "N", defaultValue = "128", converter = PositiveInt.class,
            description = "images per forward pass (default: ${DEFAULT-VALUE})")
    int batchSize;

    @Option(names = "--format", paramLabel = "FORMAT", defaultValue = "both",
            description = "${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE})")
    Format format;

    @Override
    public Integer call() throws Exception {
        try (Checkpoint checkpoint = Checkpoint.read(checkpointPath)) {
            RunConfig config = checkpoint.config();
            Device on = Devices.resolve(device != null ? device : config.device());
            RunConfig.Data data = config.data().with(dataPath != null ? dataPath : config.data().path(), false, false, 0, 0);
            Cifar.Splits splits = DataSource.load(data);
            Evaluator.Result r;
            try (TrainingModel model = TrainingModel.fromCheckpoint(checkpoint, on)) {
                r = new Evaluator(model.forwardPass(), batchSize).evaluate(splits.test());
            }
            List<String> names = config.data().format().classNames();
            if (format != Format.json) System.out.print(text(r, checkpoint.meta().epoch(), names));
            if (format != Format.text) System.out.println(json(r, checkpoint.meta().epoch(), names));
        }
        return 0;
    }

    /** A confusion matrix this wide or narrower is printed as text; a wider one (CIFAR-100's) only in the JSON. */
    static final int TEXT_MATRIX_CLASSES = 20;

    static String text(Evaluator.Result r, int epoch, List<String> names) {
        int width = Math.max(10, names.stream().mapToInt(String::length).max().orElse(10));
        StringBuilder s = new StringBuilder();
        s.append(String.format("checkpoint after epoch %d, %d test images%n", epoch, r.count()));
        s.append(String.format("test loss %.4f   accuracy %.2f%% (%d correct)%n%n", r.loss(), 100 * r.accuracy(), r.correct()));
        double[] perClass = r.perClassAccuracy();
        s.append("per-class accuracy\n");
        for (int c = 0; c < perClass.length; c++) s.append(String.format("  %-" + width + "s %6.2f%%%n", names.get(c), 100 * perClass[c]));
        int classes = r.confusion().length;
        if (classes > TEXT_MATRIX_CLASSES) {
            s.append("\nthe confusion matrix (" + classes + " x " + classes + ") is in the JSON (--format json)\n");
            return s.toString();
        }
        s.append("\nconfusion matrix (rows: true class, columns: predicted)\n").append(" ".repeat(width + 1));
        for (int c = 0; c < classes; c++) s.append(String.format("%6.5s", names.get(c)));
        s.append('\n');
        for (int t = 0; t < classes; t++) {
            s.append(String.format("%-" + width + "s ", names.get(t)));
            for (int p = 0; p < classes; p++) s.append(String.format("%6d", r.confusion()[t][p]));
            s.append('\n');
        }
        return s.toString();
    }

    static String json(Evaluator.Result r, int epoch, List<String> names) throws Exception {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("epoch", epoch);
        out.put("images", r.count());
        out.put("test_loss", r.loss());
        out.put("test_accuracy", r.accuracy());
        Map<String, Double> perClass = new LinkedHashMap<>();
        double[] acc = r.perClassAccuracy();
        for (int c = 0; c < acc.length; c++) perClass.put(names.get(c), acc[c]);
        out.put("per_class_accuracy", perClass);
        out.put("classes", names);
        out.put("confusion_matrix", r.confusion());
        return ConfigLoader.JSON.copy().disable(com.fasterxml.jackson.databind.SerializationFeature.INDENT_OUTPUT).writeValueAsString(out);
    }
}
