package dev.shakenet.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The command line's usage errors, suggestions, version and exit codes (picocli behind Main.run). */
class CommandLineTest {
    @TempDir
    Path tmp;

    /** What one command line printed and returned. */
    record Outcome(int code, String out, String err) {}

    static Outcome run(String... args) {
        PrintStream savedOut = System.out, savedErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        System.setOut(new PrintStream(out, true));
        System.setErr(new PrintStream(err, true));
        try {
            return new Outcome(Main.run(List.of(args)), out.toString(), err.toString());
        } finally {
            System.setOut(savedOut);
            System.setErr(savedErr);
        }
    }

    @Test
    void versionNamesShakeNetLibtorchAndTheJdk() {
        Outcome r = run("--version");
        assertEquals(0, r.code(), r.err());
        List<String> lines = r.out().lines().toList();
        assertEquals(3, lines.size(), r.out());
        assertTrue(lines.get(0).startsWith("ShakeNet "), r.out());
        assertTrue(lines.get(1).matches("libtorch \\d+\\.\\d+.* \\(libshakenet: .*\\)"), r.out());
        assertTrue(lines.get(2).startsWith("JDK " + Runtime.version().feature()), r.out());
    }

    @Test
    void aMistypedCommandIsRefusedWithTheClosestOne() {
        Outcome r = run("trian");
        assertEquals(2, r.code());
        assertTrue(r.err().contains("unknown command 'trian'"), r.err());
        assertTrue(r.err().contains("did you mean train?"), r.err());
    }

    @Test
    void aMistypedOptionIsRefusedWithTheClosestOne() {
        Outcome r = run("train", "--confg", "x.json");
        assertEquals(2, r.code());
        assertTrue(r.err().startsWith("shakenet train: unknown option '--confg'"), r.err());
        assertTrue(r.err().contains("did you mean --config?"), r.err());
        assertTrue(r.err().contains("(shakenet train --help shows the options)"), r.err());
        Outcome bench = run("bench", "--config", "c.json", "--step", "3");
        assertEquals(2, bench.code());
        assertTrue(bench.err().contains("did you mean --steps?"), bench.err());
    }

    @Test
    void badValuesNameTheOptionAndWhatItAccepts() {
        Outcome format = run("eval", "--checkpoint", "x.pt", "--format", "xml");
        assertEquals(2, format.code());
        assertTrue(format.err().contains("'--format'") && format.err().contains("[text, json, both]") && format.err().contains("'xml'"),
                format.err());
        for (String[] args : List.of(new String[] {"bench", "--config", "c.json", "--steps", "0"},
                new String[] {"bench", "--config", "c.json", "--warmup", "ten"},
                new String[] {"eval", "--checkpoint", "x.pt", "--batch-size", "-3"})) {
            Outcome r = run(args);
            assertEquals(2, r.code(), String.join(" ", args));
            assertTrue(r.err().contains("'" + args[3] + "'") && r.err().contains("needs a positive integer, got '" + args[4] + "'"), r.err());
        }
    }

    @Test
    void missingRequiredOptionsAreNamed() {
        Outcome export = run("export", "--out", tmp.resolve("w.pt").toString());
        assertEquals(2, export.code());
        assertTrue(export.err().contains("--checkpoint"), export.err());
        Outcome plot = run("plot");
        assertEquals(2, plot.code());
        assertTrue(plot.err().contains("RUN_FOLDER"), plot.err());
        Outcome train = run("train", "--set", "epochs=2");
        assertEquals(2, train.code());
        assertTrue(train.err().contains("--config <file.json> is required (or --resume <run folder>)"), train.err());
        Outcome none = run();
        assertEquals(2, none.code());
        assertTrue(none.err().contains("name a command: train, eval, export, plot, bench or info"), none.err());
    }

    @Test
    void helpComesFromEveryCommandAndFromHelp() {
        for (String command : List.of("train", "eval", "export", "plot", "bench", "info")) {
            Outcome r = run(command, "--help");
            assertEquals(0, r.code(), command);
            assertTrue(r.out().contains("Usage: shakenet " + command), r.out());
        }
        Outcome top = run("--help");
        assertEquals(0, top.code());
        for (String command : List.of("train", "eval", "export", "plot", "bench", "info")) assertTrue(top.out().contains("  " + command + " "), top.out());
        Outcome viaHelp = run("help", "eval");
        assertEquals(0, viaHelp.code());
        assertTrue(viaHelp.out().contains("--format"), viaHelp.out());
    }

    @Test
    void failuresExitOneAndConfigErrorsTwo() throws Exception {
        Outcome missing = run("eval", "--checkpoint", tmp.resolve("none.pt").toString());
        assertEquals(1, missing.code());
        assertTrue(missing.err().contains("none.pt does not exist"), missing.err());
        Path config = Files.writeString(tmp.resolve("c.json"), "{\"epochs\": \"two\"}");
        Outcome bad = run("bench", "--config", config.toString());
        assertEquals(2, bad.code());
        assertTrue(bad.err().startsWith("shakenet: config: ") && bad.err().contains("epochs"), bad.err());
        Outcome badSet = run("train", "--config", config.toString(), "--set", "epochs");
        assertEquals(2, badSet.code());
        assertTrue(badSet.err().contains("epochs"), badSet.err());
    }
}
