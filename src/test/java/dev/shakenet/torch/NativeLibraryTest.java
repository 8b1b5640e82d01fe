package dev.shakenet.torch;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The loader's search order and its messages when something is missing. */
class NativeLibraryTest {
    @TempDir
    Path tmp;

    @Test
    void propertyNamingAMissingFileSaysSoAndHowToBuild() {
        NativeLibraryException e = assertThrows(NativeLibraryException.class,
                () -> NativeLibrary.locate("/no/such/libshakenet.so", null, null, tmp));
        assertTrue(e.getMessage().contains("-Dshakenet.library names /no/such/libshakenet.so, which does not exist"), e.getMessage());
        assertTrue(e.getMessage().contains("cmake -S native -B native/build"), e.getMessage());
    }

    @Test
    void propertyBeatsEnvironmentAndAFolderIsSearchedForTheFile() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("lib"));
        Path lib = Files.createFile(dir.resolve(NativeLibrary.FILE_NAME));
        assertEquals(lib, NativeLibrary.locate(dir.toString(), "/elsewhere", null, tmp));
        assertEquals(lib, NativeLibrary.locate(null, lib.toString(), null, tmp));
        NativeLibraryException e = assertThrows(NativeLibraryException.class, () -> NativeLibrary.locate(null, "/elsewhere", null, tmp));
        assertTrue(e.getMessage().startsWith("SHAKENET_LIBRARY names"), e.getMessage());
    }

    @Test
    void searchesNextToTheJarThenTheCheckoutThenTheWorkingDirectory() throws IOException {
        Path root = tmp.resolve("checkout");
        Path jar = Files.createDirectories(root.resolve("target")).resolve("shakenet.jar");
        Path inCheckout = Files.createDirectories(root.resolve("native/build")).resolve(NativeLibrary.FILE_NAME);
        Path inWorkDir = Files.createDirectories(tmp.resolve("work/native/build")).resolve(NativeLibrary.FILE_NAME);
        Files.createFile(inWorkDir);
        assertEquals(inWorkDir, NativeLibrary.locate(null, null, jar, tmp.resolve("work")));
        Files.createFile(inCheckout);
        assertEquals(inCheckout, NativeLibrary.locate(null, null, jar, tmp.resolve("work")));
        Path nextToJar = Files.createFile(root.resolve("target").resolve(NativeLibrary.FILE_NAME));
        assertEquals(nextToJar, NativeLibrary.locate(null, null, jar, tmp.resolve("work")));
    }

    @Test
    void nothingFoundListsEveryPlaceLooked() {
        Path jar = tmp.resolve("target/shakenet.jar");
        NativeLibraryException e = assertThrows(NativeLibraryException.class, () -> NativeLibrary.locate(null, null, jar, tmp.resolve("w")));
        for (String place : List.of(tmp.resolve("target/libshakenet.so").toString(), tmp.resolve("native/build/libshakenet.so").toString(),
                tmp.resolve("w/native/build/libshakenet.so").toString())) {
            assertTrue(e.getMessage().contains(place), "message lists " + place + ": " + e.getMessage());
        }
    }

    @Test
    void aMissingLibtorchIsNamedWithTheFix() {
        String message = NativeLibrary.explainLoadFailure(Path.of("/x/libshakenet.so"),
                "/x/libshakenet.so: libtorch_cpu.so: cannot open shared object file: No such file or directory");
        assertTrue(message.contains("libtorch_cpu.so, which it needs, could not be loaded"), message);
        assertTrue(message.contains("apt-get install libtorch-dev"), message);
        assertTrue(message.contains("LD_LIBRARY_PATH"), message);
    }

    @Test
    void theCommandLineReportsAMissingLibraryAndExitsNonZero() throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-Dshakenet.library=/no/such/libshakenet.so",
                "-cp", System.getProperty("java.class.path"), "dev.shakenet.cli.Main", "info")
                .redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes());
        assertEquals(1, p.waitFor(), output);
        assertTrue(output.contains("-Dshakenet.library names /no/such/libshakenet.so, which does not exist"), output);
        assertFalse(output.contains("Exception in thread"), "a message, not a stack trace: " + output);
    }
}
