package dev.shakenet.cli;

import dev.shakenet.data.DataException;
import dev.shakenet.torch.NativeLibrary;
import dev.shakenet.torch.NativeLibraryException;
import dev.shakenet.torch.Torch;
import dev.shakenet.torch.TorchException;
import dev.shakenet.train.ConfigException;
import java.io.IOException;
import java.util.Arrays;
import java.util.List;

/** The shakenet command: a subcommand per job; exit 0 on success, 1 on a failure, 2 on bad usage or config. */
public final class Main {
    static final String HELP = """
            usage: shakenet <command> [options]     (shakenet <command> --help for its options)

              train   train a Shake-Shake ResNet on CIFAR-10 from a JSON run config (or --resume a run)
              eval    test loss, accuracy, per-class accuracy and confusion matrix of a checkpoint
              export  write a checkpoint's weights as a PyTorch state dict (torch.load opens it)
              plot    draw a run's curves (accuracy, loss, learning rate), or overlay several runs
              bench   time the training step, model step and evaluation of a config (JSON)
              info    print the libtorch version and what it can use here (CUDA, cuDNN, MKL-DNN, threads)""";

    private Main() {}

    public static void main(String[] argv) {
        System.setProperty("java.awt.headless", "true"); // plots are drawn off-screen
        int code = run(Arrays.asList(argv));
        System.out.flush();
        System.exit(code);
    }

    /** Runs one command line and returns its exit code; prints errors, never throws. */
    public static int run(List<String> argv) {
        String command = argv.isEmpty() ? "info" : argv.getFirst();
        List<String> rest = argv.isEmpty() ? List.of() : argv.subList(1, argv.size());
        try {
            return switch (command) {
                case "train" -> TrainCommand.run(rest);
                case "eval" -> EvalCommand.run(rest);
                case "export" -> ExportCommand.run(rest);
                case "plot" -> PlotCommand.run(rest);
                case "bench" -> BenchCommand.run(rest);
                case "info" -> info(rest);
                case "--help", "-h", "help" -> {
                    System.out.println(HELP);
                    yield 0;
                }
                default -> throw new Args.UsageException("unknown command '" + command + "'");
            };
        } catch (Args.UsageException e) {
            System.err.println("shakenet " + command + ": " + e.getMessage() + "\n(shakenet " + command + " --help shows the options)");
            return 2;
        } catch (ConfigException e) {
            System.err.println("shakenet: config: " + e.getMessage());
            return 2;
        } catch (NativeLibraryException | DataException | TorchException | dev.shakenet.train.CheckpointException e) {
            System.err.println("shakenet: " + e.getMessage());
            return 1;
        } catch (IOException e) {
            System.err.println("shakenet: " + e);
            return 1;
        } catch (Exception e) {
            System.err.println("shakenet: unexpected failure: " + e);
            e.printStackTrace();
            return 1;
        }
    }

    private static int info(List<String> argv) {
        Args args = Args.parse(argv, java.util.Set.of(), java.util.Set.of(), java.util.Set.of("--help"));
        if (args.has("--help")) {
            System.out.println("usage: shakenet info\n\nPrints where libshakenet was loaded from, the libtorch version, CPU threads, MKL-DNN,\nCUDA devices and cuDNN.");
            return 0;
        }
        NativeLibrary.ensureLoaded(); // first, so a missing library is reported plainly
        System.out.print(Torch.runtimeInfo().report());
        return 0;
    }
}
