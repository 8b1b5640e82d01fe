package dev.shakenet.cli;

import dev.shakenet.torch.NativeLibrary;
import dev.shakenet.torch.Torch;
import dev.shakenet.train.RunInfo;
import picocli.CommandLine.IVersionProvider;

/** {@code shakenet --version}: ShakeNet, the libtorch it runs on, and the JDK. */
final class VersionInfo implements IVersionProvider {
    @Override
    public String[] getVersion() {
        return new String[] {"ShakeNet " + RunInfo.shakenetVersion(), "libtorch " + libtorch(),
                "JDK " + Runtime.version() + " (" + System.getProperty("java.vendor") + ", " + System.getProperty("java.home") + ")"};
    }

    /** The version and where the library was loaded from; a library that does not load is reported, not thrown. */
    private static String libtorch() {
        try {
            NativeLibrary.ensureLoaded();
            return Torch.version() + " (libshakenet: " + NativeLibrary.path() + ")";
        } catch (RuntimeException | LinkageError e) {
            return "unavailable: " + e.getMessage();
        }
    }
}
