package dev.shakenet.plot;

import static org.junit.jupiter.api.Assertions.*;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** curves.png is a valid PNG of the expected size, with train in blue and test in orange. */
class CurvesTest {
    @TempDir
    Path tmp;

    static Path run(Path dir, int epochs) throws IOException {
        Files.createDirectories(dir);
        StringBuilder lines = new StringBuilder();
        for (int e = 1; e <= epochs; e++) {
            lines.append(String.format("{\"epoch\":%d,\"lr\":%s,\"train_loss\":%s,\"train_accuracy\":%s,\"test_loss\":%s,\"test_accuracy\":%s,"
                    + "\"images_per_second\":80.0,\"seconds\":10.0}%n", e, 0.1 / e, 2.0 / e, 0.3 + 0.05 * e, 1.8 / e, 0.35 + 0.05 * e));
        }
        Files.writeString(dir.resolve("metrics.jsonl"), lines.toString());
        return dir;
    }

    static int count(BufferedImage image, int rgb) {
        int n = 0;
        for (int y = 0; y < image.getHeight(); y++)
            for (int x = 0; x < image.getWidth(); x++) if ((image.getRGB(x, y) & 0xffffff) == rgb) n++;
        return n;
    }

    @Test
    void oneRunDrawsAPngOfTheExpectedSize() throws IOException {
        Path out = Curves.drawRun(run(tmp.resolve("r1"), 6));
        assertEquals(tmp.resolve("r1").resolve("curves.png"), out);
        byte[] bytes = Files.readAllBytes(out);
        assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G'}, java.util.Arrays.copyOf(bytes, 4), "PNG signature");
        BufferedImage image = ImageIO.read(out.toFile());
        assertEquals(Curves.WIDTH, image.getWidth());
        assertEquals(Curves.HEIGHT, image.getHeight());
        assertTrue(count(image, 0x1f77b4) > 200, "train curves in blue");
        assertTrue(count(image, 0xff7f0e) > 200, "test curves in orange");
    }

    @Test
    void severalRunsOverlay() throws IOException {
        Path out = tmp.resolve("compare.png");
        Curves.draw(List.of(run(tmp.resolve("a"), 3), run(tmp.resolve("b"), 5)), out);
        BufferedImage image = ImageIO.read(out.toFile());
        assertEquals(Curves.WIDTH, image.getWidth());
        assertTrue(count(image, 0x2ca02c) == 0, "two runs use two colours");
        assertTrue(count(image, 0x1f77b4) > 100 && count(image, 0xff7f0e) > 100);
    }

    @Test
    void aFolderWithoutMetricsIsReported() {
        IOException e = assertThrows(IOException.class, () -> Curves.drawRun(tmp));
        assertTrue(e.getMessage().contains("has no metrics.jsonl"), e.getMessage());
    }
}
