package dev.shakenet.cli;

/**
 * The jar's entry point. It is compiled for Java 8 (the rest of ShakeNet for Java 25), so an
 * older java gets this far and says which Java ShakeNet needs instead of failing with
 * UnsupportedClassVersionError on the first class it loads.
 */
public final class Launcher {
    static final int REQUIRED = 25;

    private Launcher() {}

    public static void main(String[] args) {
        String problem = problem(System.getProperty("java.specification.version"), System.getProperty("java.version"),
                System.getProperty("java.home"));
        if (problem != null) {
            System.err.println(problem);
            System.exit(1);
        }
        // Loaded only now: Main and everything it uses are Java 25 class files.
        Main.main(args);
    }

    /** Null when this Java can run ShakeNet, else the message naming what is needed, what was found and the fix. */
    static String problem(String specificationVersion, String javaVersion, String javaHome) {
        if (feature(specificationVersion) >= REQUIRED) return null;
        return "shakenet: ShakeNet needs Java " + REQUIRED + " or newer; this is Java " + javaVersion
                + " (" + javaHome + ").\n"
                + "Run it with bin/shakenet, which finds a JDK " + REQUIRED + ", or point JAVA_HOME at one and use\n"
                + "  $JAVA_HOME/bin/java -jar shakenet.jar ...\n"
                + "(for example JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64, where Temurin 25 is installed).";
    }

    /** The feature release of a java.specification.version: "1.8" is 8, "17" is 17; unreadable is 0. */
    static int feature(String specificationVersion) {
        if (specificationVersion == null) return 0;
        String v = specificationVersion.startsWith("1.") ? specificationVersion.substring(2) : specificationVersion;
        int dot = v.indexOf('.');
        try {
            return Integer.parseInt(dot < 0 ? v : v.substring(0, dot));
        } catch (NumberFormatException e) {
            return 0;
        }
    }
}
