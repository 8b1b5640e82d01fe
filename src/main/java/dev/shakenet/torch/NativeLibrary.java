package dev.shakenet.torch;

import dev.shakenet.torch.ffi.shakenet_h;

import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Finds and loads libshakenet.so, once per JVM, before any binding is used. Looks, in order, at
 * the system property {@value #PROPERTY}, the environment variable {@value #ENV} (each a file
 * or a folder holding it), the folder of the ShakeNet jar, and native/build in the checkout the
 * jar was built in and in the working directory.
 */
public final class NativeLibrary {
    public static final String PROPERTY = "shakenet.library";
    public static final String ENV = "SHAKENET_LIBRARY";
    public static final String FILE_NAME = System.mapLibraryName("shakenet");

    private static final String BUILD_HINT =
            "Build it from the ShakeNet checkout with `cmake -S native -B native/build && cmake --build native/build`"
                    + " (bin/setup does this), or point to it with -D" + PROPERTY + "=/path/to/" + FILE_NAME
                    + " or " + ENV + "=/path/to/" + FILE_NAME + ".";

    private static volatile Path loaded;

    private NativeLibrary() {}

    /** Loads libshakenet if this JVM has not yet; throws {@link NativeLibraryException} saying what is missing. */
    public static void ensureLoaded() {
        if (loaded == null) load();
    }

    /** The file that was loaded (loading it first if needed). */
    public static Path path() {
        ensureLoaded();
        return loaded;
    }

    private static synchronized void load() {
        if (loaded != null) return;
        Path library = locate(System.getProperty(PROPERTY), System.getenv(ENV), codeLocation(), Path.of("").toAbsolutePath());
        try {
            System.load(library.toString());
        } catch (UnsatisfiedLinkError e) {
            throw new NativeLibraryException(explainLoadFailure(library, e.getMessage()));
        }
        checkAbi(library);
        loaded = library;
    }

    /**
     * Where libshakenet is, by the documented search order.
     *
     * @param property the system property's value, or null
     * @param env the environment variable's value, or null
     * @param codeLocation the jar (or classes folder) this class was loaded from, or null
     * @param workDir the working directory
     */
    static Path locate(String property, String env, Path codeLocation, Path workDir) {
        if (property != null && !property.isBlank()) return explicit(property, "-D" + PROPERTY);
        if (env != null && !env.isBlank()) return explicit(env, ENV);
        List<Path> candidates = new ArrayList<>();
        if (codeLocation != null) {
            Path folder = codeLocation.toAbsolutePath().getParent(); // target/ for target/shakenet.jar or target/classes
            if (folder != null) {
                candidates.add(folder.resolve(FILE_NAME));
                if (folder.getParent() != null) candidates.add(folder.getParent().resolve("native/build").resolve(FILE_NAME));
            }
        }
        candidates.add(workDir.resolve("native/build").resolve(FILE_NAME));
        for (Path candidate : candidates) {
            if (Files.isRegularFile(candidate)) return candidate.normalize();
        }
        StringBuilder message = new StringBuilder(FILE_NAME + " was not found. Looked in:");
        for (Path candidate : candidates) message.append("\n  ").append(candidate.normalize());
        message.append("\n(and neither -D").append(PROPERTY).append(" nor ").append(ENV).append(" is set). ").append(BUILD_HINT);
        throw new NativeLibraryException(message.toString());
    }

    private static Path explicit(String value, String source) {
        Path path = Path.of(value);
        if (Files.isDirectory(path)) path = path.resolve(FILE_NAME);
        if (!Files.isRegularFile(path)) {
            throw new NativeLibraryException(source + " names " + path + ", which does not exist. " + BUILD_HINT);
        }
        return path.toAbsolutePath().normalize();
    }

    private static final Pattern MISSING = Pattern.compile("([^\\s:/]+\\.so[^\\s:]*): cannot open shared object file");

    static String explainLoadFailure(Path library, String loaderMessage) {
        Matcher missing = MISSING.matcher(loaderMessage == null ? "" : loaderMessage);
        if (missing.find()) {
            String lib = missing.group(1);
            return FILE_NAME + " was found at " + library + " but " + lib + ", which it needs, could not be loaded. "
                    + "libshakenet needs the libtorch it was built against: install Debian's (apt-get install libtorch-dev), "
                    + "or add the lib/ folder of that libtorch to LD_LIBRARY_PATH, or rebuild libshakenet against the "
                    + "libtorch you have (cmake -S native -B native/build). Loader said: " + loaderMessage;
        }
        return FILE_NAME + " at " + library + " could not be loaded: " + loaderMessage + ". " + BUILD_HINT;
    }

    private static void checkAbi(Path library) {
        if (SymbolLookup.loaderLookup().find("sn_abi_version").isEmpty()) {
            throw new NativeLibraryException(library + " is not a current libshakenet (it has no sn_abi_version). Rebuild it: "
                    + "cmake -S native -B native/build && cmake --build native/build");
        }
        int actual;
        try (Arena arena = Arena.ofConfined()) {
            var out = arena.allocate(ValueLayout.JAVA_INT);
            shakenet_h.sn_abi_version(out);
            actual = out.get(ValueLayout.JAVA_INT, 0);
        }
        int expected = shakenet_h.SN_ABI_VERSION();
        if (actual != expected) {
            throw new NativeLibraryException(library + " was built from ABI version " + actual + " but these bindings expect "
                    + expected + ": it is stale. Rebuild it: cmake -S native -B native/build && cmake --build native/build");
        }
    }

    private static Path codeLocation() {
        try {
            var source = NativeLibrary.class.getProtectionDomain().getCodeSource();
            return source == null ? null : Path.of(source.getLocation().toURI());
        } catch (URISyntaxException | SecurityException | IllegalArgumentException e) {
            return null;
        }
    }
}
