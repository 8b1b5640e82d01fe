package dev.shakenet.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * target/shakenet_completion (written by the build from the command tree) completes commands,
 * options and option values when bash asks it to, as it does after {@code source}.
 */
class CompletionScriptTest {
    static final Path SCRIPT = Path.of(System.getProperty("shakenet.root", "."), "target", "shakenet_completion");

    /** What the completion function offers for a command line typed up to its end (a trailing space starts a new word). */
    static String complete(String line) throws Exception {
        assertTrue(Files.isRegularFile(SCRIPT), SCRIPT + " is missing: the build's process-classes phase writes it (mvn package)");
        String bash = """
                source "$1"
                COMP_LINE="$2"; COMP_POINT=${#COMP_LINE}
                read -ra COMP_WORDS <<<"$COMP_LINE"
                [[ "$COMP_LINE" == *" " ]] && COMP_WORDS+=("")
                COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
                COMPREPLY=()
                _complete_shakenet 2>/dev/null
                echo "${COMPREPLY[*]}"
                """;
        Process p = new ProcessBuilder("bash", "-c", bash, "bash", SCRIPT.toString(), line).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(p.getInputStream().readAllBytes()).strip();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), "bash did not finish");
        assertEquals(0, p.exitValue(), out);
        return out;
    }

    @Test
    void completesCommandsOptionsAndValues() throws Exception {
        assertEquals("train eval export plot bench info help", complete("shakenet "));
        assertEquals("train", complete("shakenet tr"));
        assertEquals("--config", complete("shakenet train --con"));
        assertEquals("--nproc-per-node", complete("shakenet train --np"));
        assertEquals("text json both", complete("shakenet eval --format "));
        assertEquals("auto cpu cuda", complete("bin/shakenet eval --device "));
        String benchOptions = complete("shakenet bench --");
        for (String option : new String[] {"--config", "--set", "--steps", "--warmup", "--profile", "--out", "--help"}) {
            assertTrue((" " + benchOptions + " ").contains(" " + option + " "), option + " in " + benchOptions);
        }
    }

    @Test
    void registersForTheCommandName() throws Exception {
        Process p = new ProcessBuilder("bash", "-c", "source \"$1\" 2>/dev/null; complete -p shakenet", "bash", SCRIPT.toString()).start();
        String out = new String(p.getInputStream().readAllBytes()).strip();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals("complete -o default -F _complete_shakenet shakenet", out);
    }
}
