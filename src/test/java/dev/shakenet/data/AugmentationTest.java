package dev.shakenet.data;

import static org.junit.jupiter.api.Assertions.*;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Normalization, crops from the zero-padded image and flips, checked pixel by pixel. */
class AugmentationTest {
    /** One image whose pixel (c, y, x) is (c*80 + y*2 + x) & 0xff. */
    static ImageSet image() {
        byte[] px = new byte[ImageSet.IMAGE_BYTES];
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < 32; y++)
                for (int x = 0; x < 32; x++) px[c * 1024 + y * 32 + x] = (byte) (c * 80 + y * 2 + x);
        return new ImageSet(px, new byte[] {3}, 1);
    }

    static float norm(int c, int value) {
        return (float) ((value - Augmentation.MEAN[c]) / Augmentation.STD[c]);
    }

    static int raw(int c, int y, int x) {
        return (c * 80 + y * 2 + x) & 0xff;
    }

    @Test
    void normalizationUsesThePapersMeanAndStd() {
        float[] out = Augmentation.batch(image(), new int[] {0}, null);
        assertEquals((0 - 125.3) / 63.0, out[0], 1e-6);
        assertEquals((raw(1, 7, 5) - 123.0) / 62.1, out[1024 + 7 * 32 + 5], 1e-6);
        assertEquals((raw(2, 31, 31) - 113.9) / 66.7, out[3071], 1e-6);
    }

    @Test
    void cropShiftsWithZeroPaddingAndFlipMirrors() {
        float[] out = new float[ImageSet.IMAGE_BYTES];
        // Crop at offset (0, 8) of the padded image: dy = -4, dx = +4.
        Augmentation.write(image(), 0, out, 0, -4, 4, false);
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < 32; y++)
                for (int x = 0; x < 32; x++) {
                    int sy = y - 4, sx = x + 4;
                    float expected = sy < 0 || sx > 31 ? 0f : norm(c, raw(c, sy, sx));
                    assertEquals(expected, out[c * 1024 + y * 32 + x], 1e-6, "c" + c + " y" + y + " x" + x);
                }
        Augmentation.write(image(), 0, out, 0, 0, 0, true);
        assertEquals(norm(0, raw(0, 3, 31)), out[3 * 32], 1e-6, "flip: column 0 shows column 31");
        assertEquals(norm(2, raw(2, 9, 0)), out[2048 + 9 * 32 + 31], 1e-6);
        Augmentation.write(image(), 0, out, 0, 2, -3, true);
        // out[y][x] = image[y+2][(31-x)-3]
        assertEquals(norm(1, raw(1, 12, 31 - 5 - 3)), out[1024 + 10 * 32 + 5], 1e-6);
        assertEquals(0f, out[1024 + 10 * 32 + 31], "shifted in from outside: zero (the mean after normalizing)");
    }

    @Test
    void randomCropsCoverEveryOffsetAndFlipHalfTheTime() {
        ImageSet set = image();
        SplittableRandom random = new SplittableRandom(1);
        int flips = 0, n = 4000;
        boolean[] seenTopPad = new boolean[9];
        for (int i = 0; i < n; i++) {
            float[] out = Augmentation.batch(set, new int[] {0}, random);
            // Row 0 of channel 0 is all zero exactly when dy < 0; the zero rows count -dy.
            int zeroRows = 0;
            while (zeroRows < 32 && rowIsZero(out, zeroRows)) zeroRows++;
            seenTopPad[Math.min(zeroRows, 8)] = true;
            // Unflipped, the pixel values increase along a row (inside the image).
            if (out[16 * 32 + 10] > out[16 * 32 + 11] && out[16 * 32 + 11] != 0) flips++;
        }
        for (int d = 0; d <= 4; d++) assertTrue(seenTopPad[d], "a crop with " + d + " padded rows on top");
        assertEquals(0.5, (double) flips / n, 0.04);
    }

    private static boolean rowIsZero(float[] out, int y) {
        for (int x = 0; x < 32; x++) if (out[y * 32 + x] != 0f) return false;
        return true;
    }
}
