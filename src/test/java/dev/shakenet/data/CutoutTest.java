package dev.shakenet.data;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Cutout: the patch pixel by pixel, its clipping, its draws from the per-batch stream, and that size 0 changes nothing. */
class CutoutTest {
    private static final int PX = ImageSet.IMAGE_BYTES;

    /**
     * One image none of whose pixels normalizes to 0, so a cut pixel always shows: pixel (c, y, x)
     * is (c*80 + 6y + 2x) & 0xff, even, so never channel 1's integer mean 123.
     */
    static ImageSet image() {
        byte[] px = new byte[PX];
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < 32; y++)
                for (int x = 0; x < 32; x++) px[c * 1024 + y * 32 + x] = (byte) (c * 80 + 6 * y + 2 * x);
        return new ImageSet(px, new byte[] {3}, 1);
    }

    /** The test image normalized, cropped at (dy, dx) and maybe flipped: what Cutout starts from. */
    private static float[] uncut(int dy, int dx, boolean flip) {
        float[] out = new float[PX];
        Augmentation.write(image(), 0, out, 0, dy, dx, flip);
        return out;
    }

    /**
     * Cuts {@code size} at (cy, cx) out of a copy of {@code before} and checks every pixel: 0 in all
     * channels for rows y0..y1 and columns x0..x1 (exclusive, worked out by hand), else unchanged.
     */
    private static void assertPatch(float[] before, int size, int cy, int cx, int y0, int y1, int x0, int x1) {
        float[] after = before.clone();
        Augmentation.cutout(after, 0, size, cy, cx);
        String at = "size " + size + " at (" + cy + ", " + cx + ")";
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < 32; y++)
                for (int x = 0; x < 32; x++) {
                    int i = c * 1024 + y * 32 + x;
                    boolean inside = y >= y0 && y < y1 && x >= x0 && x < x1;
                    if (inside) {
                        assertNotEquals(0f, before[i], "the uncut pixel is not already 0, so the test can fail: c" + c + " y" + y + " x" + x);
                        assertEquals(0f, after[i], at + ": cut c" + c + " y" + y + " x" + x);
                    } else {
                        assertEquals(before[i], after[i], at + ": kept c" + c + " y" + y + " x" + x);
                    }
                }
    }

    @Test
    void aPatchInsideTheImageZeroesExactlyItsPixelsInEveryChannel() {
        float[] before = uncut(0, 0, false);
        assertPatch(before, 8, 10, 20, 6, 14, 16, 24);   // 10 - 4 .. 10 + 4, 20 - 4 .. 20 + 4
        assertPatch(before, 16, 15, 17, 7, 23, 9, 25);
        assertPatch(uncut(0, 0, true), 4, 3, 28, 1, 5, 26, 30); // cut after the flip: where the pixel lands, not where it came from
    }

    @Test
    void patchesAreClippedAtEachBorderAndCorner() {
        float[] before = uncut(0, 0, false);
        assertPatch(before, 16, 0, 0, 0, 8, 0, 8);        // top left: rows -8..8 -> 0..8
        assertPatch(before, 16, 0, 31, 0, 8, 23, 32);     // top right: columns 23..39 -> 23..32
        assertPatch(before, 16, 31, 0, 23, 32, 0, 8);     // bottom left
        assertPatch(before, 16, 31, 31, 23, 32, 23, 32);  // bottom right
        assertPatch(before, 8, 2, 16, 0, 6, 12, 20);      // top edge: rows -2..6
        assertPatch(before, 8, 30, 16, 26, 32, 12, 20);   // bottom edge: rows 26..34
        assertPatch(before, 8, 16, 1, 12, 20, 0, 5);      // left edge: columns -3..5
        assertPatch(before, 8, 16, 29, 12, 20, 25, 32);   // right edge: columns 25..33
    }

    @Test
    void sizeOneCutsOnePixelAndSizeThirtyTwoUpToTheWholeImage() {
        float[] before = uncut(0, 0, false);
        assertPatch(before, 1, 5, 7, 5, 6, 7, 8);
        assertPatch(before, 1, 0, 0, 0, 1, 0, 1);
        assertPatch(before, 1, 31, 31, 31, 32, 31, 32);
        assertPatch(before, 32, 16, 16, 0, 32, 0, 32);    // rows 0..32: all of it
        assertPatch(before, 32, 0, 0, 0, 16, 0, 16);
        assertPatch(before, 32, 31, 31, 15, 32, 15, 32);
        assertPatch(before, 32, 15, 16, 0, 31, 0, 32);    // rows -1..31: the last row stays
        // Odd sizes keep their N x N: rows cy - N/2 .. cy - N/2 + N (the reference would cut 2x2 here).
        assertPatch(before, 3, 10, 10, 9, 12, 9, 12);
    }

    @Test
    void cutoutOnlyTouchesItsOwnSlotOfABatch() {
        float[] two = new float[2 * PX];
        Augmentation.write(image(), 0, two, 0, 0, 0, false);
        Augmentation.write(image(), 0, two, 1, 0, 0, false);
        float[] before = two.clone();
        Augmentation.cutout(two, 1, 2, 0, 0);
        assertArrayEquals(Arrays.copyOf(before, PX), Arrays.copyOf(two, PX), "slot 0 untouched");
        for (int c = 0; c < 3; c++) {
            int plane = PX + c * 1024;
            assertEquals(0f, two[plane]);                   // (0, 0): rows and columns -1..1 -> 0..1
            assertEquals(before[plane + 1], two[plane + 1]);
            assertEquals(before[plane + 32], two[plane + 32]);
        }
    }

    /** A batch of {@code n} copies of the test image. */
    private static ImageSet copies(int n) {
        byte[] px = new byte[n * PX];
        for (int i = 0; i < n; i++) System.arraycopy(image().pixels(), 0, px, i * PX, PX);
        return new ImageSet(px, new byte[n], n);
    }

    @Test
    void eachImageDrawsItsCentreAfterItsCropAndFlip() {
        ImageSet set = copies(5);
        int[] indices = {0, 1, 2, 3, 4};
        float[] cut = Augmentation.batch(set, indices, new SplittableRandom(42), true, 12);
        SplittableRandom copy = new SplittableRandom(42);
        float[] expected = new float[5 * PX];
        for (int i = 0; i < 5; i++) {
            int dy = copy.nextInt(9) - 4, dx = copy.nextInt(9) - 4;
            Augmentation.write(set, i, expected, i, dy, dx, copy.nextBoolean());
            int cy = copy.nextInt(32), cx = copy.nextInt(32);
            Augmentation.cutout(expected, i, 12, cy, cx);
        }
        assertArrayEquals(expected, cut);
        // Without crop and flip the stream holds the centres alone.
        float[] centresOnly = Augmentation.batch(set, indices, new SplittableRandom(42), false, 12);
        copy = new SplittableRandom(42);
        for (int i = 0; i < 5; i++) {
            Augmentation.write(set, i, expected, i, 0, 0, false);
            int cy = copy.nextInt(32);
            Augmentation.cutout(expected, i, 12, cy, copy.nextInt(32));
        }
        assertArrayEquals(expected, centresOnly);
    }

    @Test
    void cutoutZeroLeavesTheDrawsAndEveryImageAsBefore() {
        ImageSet set = copies(6);
        int[] indices = {0, 1, 2, 3, 4, 5};
        SplittableRandom random = new SplittableRandom(7);
        SplittableRandom copy = new SplittableRandom(7); // the same draws
        float[] out = Augmentation.batch(set, indices, random, true, 0);
        // The code before Cutout: a crop and a flip per image, nothing else.
        float[] expected = new float[6 * PX];
        for (int i = 0; i < 6; i++) {
            int dy = copy.nextInt(2 * Augmentation.PAD + 1) - Augmentation.PAD;
            int dx = copy.nextInt(2 * Augmentation.PAD + 1) - Augmentation.PAD;
            Augmentation.write(set, i, expected, i, dy, dx, copy.nextBoolean());
        }
        assertArrayEquals(expected, out);
        assertEquals(copy.nextLong(), random.nextLong(), "the stream is where crop and flip alone leave it");
        assertArrayEquals(expected, Augmentation.batch(set, indices, new SplittableRandom(7)));

        // Through Batches: the overloads without cutout and cutout 0 give the same batches.
        try (Batches before = Batches.training(copies(40), 8, 3, 2, true, false, 0, 0, 1);
             Batches zero = Batches.training(copies(40), 8, 3, 2, true, false, 0, 0, 1, 0);
             Batches plain = Batches.training(copies(40), 8, 3, 2, false, false, 0, 0, 1, 0)) {
            while (before.hasNext()) {
                Batches.Batch a = before.next();
                assertArrayEquals(a.images(), zero.next().images());
                assertArrayEquals(Augmentation.batch(copies(1), new int[8], null), plain.next().images(), "neither augmentation: normalized only");
            }
        }
    }

    @Test
    void theSameSeedEpochAndBatchGiveTheSamePatches() {
        ImageSet set = copies(40);
        float[][] first = new float[5][];
        try (Batches a = Batches.training(set, 8, 3, 2, true, false, 0, 0, 1, 16);
             Batches b = Batches.training(set, 8, 3, 2, true, true, 0, 0, 1, 16)) {
            for (int k = 0; k < 5; k++) {
                Batches.Batch x = a.next(), y = b.next();
                first[k] = x.images();
                assertArrayEquals(x.images(), y.images(), "batch " + k + ", assembled ahead or not");
                // A pure function of (seed, epoch, batch): the batch's own stream reproduces it.
                assertArrayEquals(Augmentation.batch(set, new int[8], new SplittableRandom(Batches.mix(3, 2, k)), true, 16), x.images());
            }
        }
        try (Batches resumed = Batches.training(set, 8, 3, 2, true, false, 3, 0, 1, 16)) {
            assertArrayEquals(first[3], resumed.next().images(), "a run resumed at batch 3 cuts the same patches");
        }
        try (Batches other = Batches.training(set, 8, 3, 3, true, false, 0, 0, 1, 16)) {
            assertFalse(Arrays.equals(first[0], other.next().images()), "another epoch, other patches");
        }
        try (Batches alone = Batches.training(set, 8, 3, 2, false, false, 0, 0, 1, 16)) {
            assertArrayEquals(Augmentation.batch(set, new int[8], new SplittableRandom(Batches.mix(3, 2, 0)), false, 16), alone.next().images(),
                    "data.augment false: cutout alone, from the same stream");
        }
    }

    @Test
    void centresCoverEveryPixelEvenly() {
        // Size 1 without crop or flip: the one 0 of channel 0 (no pixel of the image normalizes to 0) is the centre.
        ImageSet set = copies(1);
        SplittableRandom random = new SplittableRandom(5);
        int n = 20_000;
        int[] hits = new int[1024], rows = new int[32], cols = new int[32];
        for (int d = 0; d < n; d++) {
            float[] out = Augmentation.batch(set, new int[1], random, false, 1);
            int zeros = 0;
            for (int p = 0; p < 1024; p++)
                if (out[p] == 0f) {
                    zeros++;
                    hits[p]++;
                    rows[p / 32]++;
                    cols[p % 32]++;
                }
            assertEquals(1, zeros, "one pixel cut per image");
        }
        for (int p = 0; p < 1024; p++) assertTrue(hits[p] > 0, "pixel (" + p / 32 + ", " + p % 32 + ") is a centre at least once");
        for (int k = 0; k < 32; k++) {
            assertEquals(n / 32.0, rows[k], n / 32.0 * 0.15, "row " + k);
            assertEquals(n / 32.0, cols[k], n / 32.0 * 0.15, "column " + k);
        }
    }
}
