package dev.shakenet.cli;

import dev.shakenet.torch.NativeLibrary;
import dev.shakenet.torch.NativeLibraryException;
import dev.shakenet.torch.Torch;

/** The shakenet command. Until the trainer lands it reports what the native library can use. */
public final class Main {
    private Main() {}

    public static void main(String[] args) {
        String command = args.length == 0 ? "info" : args[0];
        switch (command) {
            case "info" -> exit(info());
            case "--help", "-h", "help" -> {
                System.out.println(usage());
                exit(0);
            }
            default -> {
                System.err.println("shakenet: unknown command '" + command + "'\n" + usage());
                exit(2);
            }
        }
    }

    private static String usage() {
        return """
                usage: java -jar target/shakenet.jar [info | --help]
                  info    print the libtorch version and what it can use here (CUDA, cuDNN, MKL-DNN, threads)""";
    }

    private static int info() {
        try {
            NativeLibrary.ensureLoaded(); // first, so a missing library is reported plainly
            System.out.print(Torch.runtimeInfo().report());
            return 0;
        } catch (NativeLibraryException e) {
            System.err.println("shakenet: " + e.getMessage());
            return 1;
        }
    }

    private static void exit(int code) {
        System.out.flush();
        System.exit(code);
    }
}
