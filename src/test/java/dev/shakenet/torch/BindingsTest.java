package dev.shakenet.torch;

import static org.junit.jupiter.api.Assertions.*;

import dev.shakenet.torch.ffi.shakenet_h;
import java.io.IOException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The committed jextract bindings agree with native/include/shakenet.h (so stale bindings
 * cannot land), and only dev.shakenet.torch touches them.
 */
class BindingsTest {
    static final Path ROOT = Path.of(System.getProperty("shakenet.root", "")).toAbsolutePath();
    static final Pattern FUNCTION = Pattern.compile("\\b(sn_[a-z0-9_]+)\\s*\\(([^)]*)\\)\\s*;");
    static final Pattern CONSTANT = Pattern.compile("\\b(SN_[A-Z0-9_]+)\\b\\s*(=|-?\\(?-?[0-9])");

    static String header() throws IOException {
        String text = Files.readString(ROOT.resolve("native/include/shakenet.h"));
        return text.replaceAll("(?s)/\\*.*?\\*/", " ").replaceAll("//[^\n]*", " ");
    }

    /** Function name -> parameter count, from the header. */
    static Map<String, Integer> headerFunctions() throws IOException {
        Map<String, Integer> functions = new TreeMap<>();
        Matcher m = FUNCTION.matcher(header());
        while (m.find()) {
            String params = m.group(2).trim();
            functions.put(m.group(1), params.equals("void") || params.isEmpty() ? 0 : params.split(",").length);
        }
        return functions;
    }

    /** Function name -> parameter count, from the generated class. */
    static Map<String, Integer> boundFunctions() {
        Map<String, Integer> functions = new TreeMap<>();
        for (Method method : shakenet_h.class.getMethods()) {
            if (Modifier.isStatic(method.getModifiers()) && method.getName().startsWith("sn_") && !method.getName().contains("$")) {
                functions.put(method.getName(), method.getParameterCount());
            }
        }
        return functions;
    }

    @Test
    void everyHeaderFunctionIsBoundWithItsArityAndNothingElse() throws IOException {
        Map<String, Integer> declared = headerFunctions();
        assertTrue(declared.size() > 50, "parsed " + declared.size() + " functions from shakenet.h");
        assertEquals(declared, boundFunctions(),
                "native/include/shakenet.h and bindings/ disagree: run bindings/generate.sh and commit its output");
    }

    @Test
    void everyHeaderConstantIsBound() throws IOException {
        List<String> missing = new ArrayList<>();
        Matcher m = CONSTANT.matcher(header());
        while (m.find()) {
            try {
                shakenet_h.class.getMethod(m.group(1));
            } catch (NoSuchMethodException e) {
                missing.add(m.group(1));
            }
        }
        assertEquals(List.of(), missing, "constants missing from the bindings: run bindings/generate.sh");
        assertEquals(1, shakenet_h.SN_ABI_VERSION() > 0 ? 1 : 0);
    }

    @Test
    void onlyTheTorchPackageTouchesTheBindingsAndNothingHandWritesDowncalls() throws IOException {
        Path main = ROOT.resolve("src/main/java");
        Path torch = main.resolve("dev/shakenet/torch");
        List<String> offenders = new ArrayList<>();
        try (Stream<Path> files = Files.walk(main)) {
            for (Path file : files.filter(f -> f.toString().endsWith(".java")).toList()) {
                String text = Files.readString(file);
                if (!file.startsWith(torch) && text.contains("dev.shakenet.torch.ffi")) offenders.add(file + " imports the bindings");
                for (String downcall : List.of("downcallHandle", "Linker.nativeLinker", "libraryLookup")) {
                    if (text.contains(downcall)) offenders.add(file + " uses " + downcall);
                }
            }
        }
        assertEquals(List.of(), offenders);
    }
}
