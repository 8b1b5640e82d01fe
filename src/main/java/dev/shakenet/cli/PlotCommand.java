package dev.shakenet.cli;

import dev.shakenet.plot.Curves;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** shakenet plot: draws one run's curves, or overlays several. */
@Command(name = "plot", header = "Draw a run's curves (accuracy, loss, learning rate), or overlay several runs.",
        sortOptions = false,
        description = {"Draws accuracy, loss and learning rate per epoch from metrics.jsonl. One run: written to "
                + "<run folder>/curves.png unless --out says otherwise (training redraws it every epoch). Several runs: "
                + "overlaid, one colour per run (train dashed, test solid), written to --out (default curves-compare.png).", ""})
final class PlotCommand implements Callable<Integer> {
    @Mixin
    HelpOption help;

    @Parameters(arity = "1..*", paramLabel = "RUN_FOLDER", description = "run folders holding metrics.jsonl")
    List<Path> runs;

    @Option(names = "--out", paramLabel = "FILE", description = "the picture to write (PNG)")
    Path out;

    @Override
    public Integer call() throws Exception {
        Path file = out != null ? out : runs.size() == 1 ? runs.getFirst().resolve(Curves.FILE) : Path.of("curves-compare.png");
        Curves.draw(runs, file);
        System.out.println("wrote " + file);
        return 0;
    }
}
