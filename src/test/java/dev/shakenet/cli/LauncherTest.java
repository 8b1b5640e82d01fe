package dev.shakenet.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.io.DataInputStream;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** The jar's entry class runs on an old Java far enough to say which Java ShakeNet needs. */
class LauncherTest {
    @Test
    void itIsCompiledForJava8() throws Exception {
        try (InputStream in = Launcher.class.getResourceAsStream("Launcher.class")) {
            DataInputStream data = new DataInputStream(in);
            assertEquals(0xCAFEBABE, data.readInt());
            data.readUnsignedShort(); // minor
            assertEquals(52, data.readUnsignedShort(), "class file major version 52 is Java 8");
        }
    }

    @Test
    void featureReleasesAreReadFromEitherScheme() {
        assertEquals(8, Launcher.feature("1.8"));
        assertEquals(11, Launcher.feature("11"));
        assertEquals(17, Launcher.feature("17"));
        assertEquals(25, Launcher.feature("25"));
        assertEquals(0, Launcher.feature("unknown"));
        assertEquals(0, Launcher.feature(null));
    }

    @Test
    void onlyJava25AndNewerPass() {
        assertNull(Launcher.problem("25", "25.0.1", "/jdk25"));
        assertNull(Launcher.problem("26", "26", "/jdk26"));
        String old = Launcher.problem("17", "17.0.15", "/usr/lib/jvm/java-17-openjdk-amd64");
        assertNotNull(old);
        assertTrue(old.contains("needs Java 25 or newer") && old.contains("this is Java 17.0.15 (/usr/lib/jvm/java-17-openjdk-amd64)"), old);
        assertTrue(old.contains("bin/shakenet") && old.contains("JAVA_HOME"), old);
        assertNotNull(Launcher.problem("1.8", "1.8.0_402", "/jre8"));
    }

    /** On a machine with an older Java (Debian's default is 17), run the entry class on it for real. */
    @Test
    void anOldJavaGetsTheMessageAndExitCodeOne() throws Exception {
        Path classes = Path.of(Launcher.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        Path old = olderJava();
        Assumptions.assumeTrue(old != null, "no Java older than 25 on this machine (looked at /usr/lib/jvm and PATH)");
        Process p = new ProcessBuilder(old.toString(), "-cp", classes.toString(), "dev.shakenet.cli.Launcher", "--version")
                .redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertEquals(1, p.exitValue(), out);
        assertTrue(out.startsWith("shakenet: ShakeNet needs Java 25 or newer; this is Java "), out);
        assertFalse(out.contains("UnsupportedClassVersionError"), out);
    }

    /** A java executable whose feature release is below 25, or null. */
    static Path olderJava() throws Exception {
        List<Path> candidates = new ArrayList<>();
        Path jvms = Path.of("/usr/lib/jvm");
        if (Files.isDirectory(jvms)) {
            try (Stream<Path> homes = Files.list(jvms)) {
                homes.map(home -> home.resolve("bin/java")).filter(Files::isExecutable).forEach(candidates::add);
            }
        }
        for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, "java"))) candidates.add(Path.of(dir, "java"));
        }
        for (Path java : candidates) {
            Process p = new ProcessBuilder(java.toString(), "-XshowSettings:properties", "-version").redirectErrorStream(true).start();
            String settings = new String(p.getInputStream().readAllBytes());
            if (!p.waitFor(30, TimeUnit.SECONDS)) continue;
            for (String line : settings.lines().toList()) {
                String trimmed = line.strip();
                if (trimmed.startsWith("java.specification.version = ")
                        && Launcher.feature(trimmed.substring("java.specification.version = ".length())) < Launcher.REQUIRED) {
                    return java;
                }
            }
        }
        return null;
    }
}
