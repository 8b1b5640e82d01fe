package dev.shakenet.torch;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * 200,000 create / op / free cycles leave resident memory flat. Each cycle makes three 1 KiB
 * tensors, so leaking even one handle per cycle would add more than 200 MB; the bound is 32 MB.
 * (Surefire runs this JVM with a fixed, pre-touched heap, so the JVM's own heap growth does
 * not count.)
 */
class SoakTest {
    static final int CYCLES = 200_000;
    static final long BOUND = 32L << 20;

    static long residentBytes() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
            if (line.startsWith("VmRSS:")) return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
        }
        throw new IllegalStateException("no VmRSS in /proc/self/status");
    }

    static void cycles(int count, float[] data) {
        for (int i = 0; i < count; i++) {
            try (TensorScope scope = TensorScope.open()) {
                Tensor x = Tensor.fromFloats(data, 16, 16);
                Tensor y = x.add(x).relu();
                if (y.numel() != 256) fail("op produced " + y.numel() + " elements");
            }
        }
    }

    @Test
    void residentMemoryStaysFlat() throws IOException {
        float[] data = new float[256];
        for (int i = 0; i < data.length; i++) data[i] = i - 128;
        cycles(20_000, data); // warm up: JIT, allocator pools
        long before = residentBytes();
        cycles(CYCLES, data);
        long after = residentBytes();
        long growth = after - before;
        assertTrue(growth < BOUND, "resident memory grew by " + (growth >> 20) + " MB over " + CYCLES + " cycles (bound "
                + (BOUND >> 20) + " MB): " + (before >> 20) + " MB -> " + (after >> 20) + " MB");
    }
}
