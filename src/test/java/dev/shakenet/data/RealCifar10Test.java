package dev.shakenet.data;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** The shared CIFAR-10 copy (../shared/data/cifar-10-binary.tar.gz) reads as the real data set; skipped where absent. */
public class RealCifar10Test {
    public static final Path SHARED = Path.of(System.getProperty("shakenet.root", ".")).resolve("../shared/data/cifar-10-binary.tar.gz").normalize();

    /** Skips the calling test, saying why, when the shared copy is not on this machine. */
    public static void assumeSharedData() {
        Assumptions.assumeTrue(Files.isRegularFile(SHARED), "the shared CIFAR-10 copy is not at " + SHARED + ": real-data test skipped");
    }

    @Test
    void sharedCopyHasTheOfficialSizesClassesAndMeans() throws IOException {
        assumeSharedData();
        Cifar.Splits s = Cifar10.load(SHARED);
        assertEquals(50_000, s.train().count());
        assertEquals(10_000, s.test().count());
        int[] perClass = new int[10];
        for (int i = 0; i < s.train().count(); i++) perClass[s.train().label(i)]++;
        for (int c = 0; c < 10; c++) assertEquals(5000, perClass[c], "class " + c);
        // Close to official CIFAR-10's training means (PAPER.md: 125.3, 123.0, 113.9); measured here
        // 125.27 / 122.93 / 113.86 (the shared copy's README says 125.2 / 123.0 / 114.3).
        double[] mean = new double[3];
        byte[] px = s.train().pixels();
        for (int i = 0; i < s.train().count(); i++)
            for (int c = 0; c < 3; c++)
                for (int p = 0; p < 1024; p++) mean[c] += px[i * 3072 + c * 1024 + p] & 0xff;
        for (int c = 0; c < 3; c++) mean[c] /= 50_000.0 * 1024;
        assertArrayEquals(new double[] {125.3, 123.0, 113.9}, mean, 0.1);
    }
}
