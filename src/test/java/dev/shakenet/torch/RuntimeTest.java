package dev.shakenet.torch;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The capability report and the process-wide switches. */
class RuntimeTest {
    @Test
    void reportsVersionThreadsAndDevices() {
        Torch.RuntimeInfo info = Torch.runtimeInfo();
        assertTrue(info.torchVersion().matches("\\d+\\.\\d+\\.\\d+.*"), info.torchVersion());
        assertTrue(info.threads() >= 1);
        assertEquals(Torch.cudaDeviceCount(), info.cudaDevices().size());
        for (String name : info.cudaDevices()) assertFalse(name.isBlank());
        String report = info.report();
        assertTrue(report.contains("libtorch:    " + info.torchVersion()), report);
        assertTrue(report.contains("CUDA devices: " + info.cudaDevices().size()), report);
        assertTrue(report.contains("MKL-DNN:     " + (info.mkldnn() ? "yes" : "no")), report);
        assertTrue(Path.of(info.libraryPath()).isAbsolute());
    }

    @Test
    void threadCountCanBeSetAndRead() {
        int before = Torch.numThreads();
        try {
            Torch.setNumThreads(2);
            assertEquals(2, Torch.numThreads());
            Torch.setNumThreads(1);
            assertEquals(1, Torch.numThreads());
        } finally {
            Torch.setNumThreads(before);
        }
    }

    @Test
    void aBadCudaIndexIsRejected() {
        int count = Torch.cudaDeviceCount();
        TorchException e = assertThrows(TorchException.class, () -> Torch.cudaDeviceName(count));
        assertTrue(e.getMessage().contains("does not exist"), e.getMessage());
    }

    @Test
    void theCommandLinePrintsTheReport() throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED",
                "-Dshakenet.library=" + NativeLibrary.path(), "-cp", System.getProperty("java.class.path"), "dev.shakenet.cli.Main", "info")
                .redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes());
        assertEquals(0, p.waitFor(), output);
        assertTrue(output.contains("libtorch:    " + Torch.version()), output);
        assertTrue(output.contains("CUDA devices: " + Torch.cudaDeviceCount()), output);
    }
}
