package dev.shakenet.cli;

import dev.shakenet.plot.Curves;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** shakenet plot: draws one run's curves, or overlays several. */
final class PlotCommand {
    static final String HELP = """
            usage: shakenet plot <run folder> [<run folder>...] [--out <file.png>]

            Draws accuracy, loss and learning rate per epoch from metrics.jsonl. One run: written
            to <run folder>/curves.png unless --out says otherwise (training redraws it every
            epoch). Several runs: overlaid, one colour per run (train dashed, test solid), written
            to --out (default curves-compare.png).""";

    private PlotCommand() {}

    static int run(List<String> argv) throws Exception {
        List<Path> runs = new ArrayList<>();
        Path out = null;
        for (int i = 0; i < argv.size(); i++) {
            String a = argv.get(i);
            if (a.equals("--help")) {
                System.out.println(HELP);
                return 0;
            } else if (a.equals("--out")) {
                if (i + 1 >= argv.size()) throw new Args.UsageException("--out needs a file name");
                out = Path.of(argv.get(++i));
            } else if (a.startsWith("--")) {
                throw new Args.UsageException("unknown option '" + a + "' (options: --out, --help)");
            } else {
                runs.add(Path.of(a));
            }
        }
        if (runs.isEmpty()) throw new Args.UsageException("name at least one run folder");
        if (out == null) out = runs.size() == 1 ? runs.getFirst().resolve(Curves.FILE) : Path.of("curves-compare.png");
        Curves.draw(runs, out);
        System.out.println("wrote " + out);
        return 0;
    }
}
