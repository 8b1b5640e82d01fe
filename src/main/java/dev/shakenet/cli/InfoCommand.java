package dev.shakenet.cli;

import dev.shakenet.torch.NativeLibrary;
import dev.shakenet.torch.Torch;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** shakenet info: what libtorch can use on this machine. */
@Command(name = "info", header = "Print the libtorch version and what it can use here (CUDA, cuDNN, MKL-DNN, threads).", description = "Also where libshakenet was loaded from.")
final class InfoCommand implements Callable<Integer> {
    @Mixin
    HelpOption help;

    @Override
    public Integer call() {
        NativeLibrary.ensureLoaded(); // first, so a missing library is reported plainly
        System.out.print(Torch.runtimeInfo().report());
        return 0;
    }
}
