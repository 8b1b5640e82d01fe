package dev.shakenet.data;

import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Epoch batches: every image once, seeded order, the partial last batch, background prefetch. */
class BatchesTest {
    /** n images whose label is i % 10 and whose first red pixel is i (so batches can be traced back). */
    static ImageSet numbered(int n) {
        byte[] px = new byte[n * ImageSet.IMAGE_BYTES], labels = new byte[n];
        for (int i = 0; i < n; i++) {
            px[i * ImageSet.IMAGE_BYTES] = (byte) i;
            labels[i] = (byte) (i % 10);
        }
        return new ImageSet(px, labels, n);
    }

    /** The image indices of each batch, read back through the normalized first pixel. */
    static List<List<Integer>> indices(Batches batches) {
        List<List<Integer>> out = new ArrayList<>();
        while (batches.hasNext()) {
            Batches.Batch b = batches.next();
            List<Integer> ids = new ArrayList<>();
            for (int i = 0; i < b.size(); i++) {
                int id = (int) Math.round(b.images()[i * ImageSet.IMAGE_BYTES] * Augmentation.STD[0] + Augmentation.MEAN[0]);
                ids.add(id);
                assertEquals(id % 10, b.labels()[i], "label travels with its image");
            }
            out.add(ids);
        }
        batches.close();
        return out;
    }

    @Test
    void everyImageOnceInASeededShuffledOrder() {
        ImageSet set = numbered(100);
        List<List<Integer>> a = indices(Batches.training(set, 32, 7, 0, false));
        assertEquals(List.of(32, 32, 32, 4), a.stream().map(List::size).toList());
        List<Integer> all = a.stream().flatMap(List::stream).sorted().toList();
        assertEquals(java.util.stream.IntStream.range(0, 100).boxed().toList(), all);
        assertEquals(a, indices(Batches.training(set, 32, 7, 0, false)), "same seed and epoch, same order");
        assertNotEquals(a, indices(Batches.training(set, 32, 7, 1, false)), "another epoch, another order");
        assertNotEquals(a, indices(Batches.training(set, 32, 8, 0, false)), "another seed, another order");
    }

    @Test
    void augmentationIsAPureFunctionOfSeedEpochAndBatch() {
        ImageSet set = numbered(20);
        float[] first, again;
        try (Batches a = Batches.training(set, 8, 3, 2, true); Batches b = Batches.training(set, 8, 3, 2, true)) {
            a.next();
            b.next();
            first = a.next().images();
            again = b.next().images();
        }
        assertArrayEquals(first, again);
    }

    @Test
    void ranksShareTheEpochsOrderInterleavedAndPaddedAsDistributedSampler() {
        // DistributedSampler(drop_last=False) on 5 shuffled indices o0..o4 and 2 ranks: padded to o0..o4,o0; rank 0 takes o0,o2,o4, rank 1 o1,o3,o0
        int[] order = {40, 41, 42, 43, 44};
        assertArrayEquals(new int[] {40, 42, 44}, Batches.share(order, 0, 2));
        assertArrayEquals(new int[] {41, 43, 40}, Batches.share(order, 1, 2));
        assertArrayEquals(new int[] {40, 43}, Batches.share(order, 0, 3)); // padded to 6: 40..44,40
        assertArrayEquals(new int[] {42, 40}, Batches.share(order, 2, 3));
        assertSame(order, Batches.share(order, 0, 1));
        assertEquals(3, Batches.shareSize(5, 2));
        assertEquals(2, Batches.shareSize(4, 2));

        ImageSet set = numbered(101);
        List<Integer> single = indices(Batches.training(set, 17, 7, 3, false)).stream().flatMap(List::stream).toList();
        List<Integer> rank0 = indices(Batches.training(set, 17, 7, 3, false, false, 0, 0, 2)).stream().flatMap(List::stream).toList();
        List<Integer> rank1 = indices(Batches.training(set, 17, 7, 3, false, false, 0, 1, 2)).stream().flatMap(List::stream).toList();
        assertEquals(51, rank0.size());
        assertEquals(51, rank1.size(), "both ranks take the same number of batches, so their collectives pair up");
        for (int k = 0; k < 51; k++) {
            assertEquals(single.get(2 * k), rank0.get(k), "rank 0 takes even positions of the single-process order");
            assertEquals(single.get((2 * k + 1) % 101), rank1.get(k), "rank 1 the odd ones, wrapping to the start for the pad");
        }
        assertEquals(single, indices(Batches.training(set, 17, 7, 3, false, false, 0, 0, 1)).stream().flatMap(List::stream).toList(),
                "rank 0 of one is the single-process pass");
    }

    @Test
    void eachRankAugmentsFromItsOwnStreamAndRankZeroFromTheRunsSeed() {
        assertEquals(123, Batches.seedForRank(123, 0));
        assertNotEquals(Batches.seedForRank(123, 1), Batches.seedForRank(123, 2));
        assertNotEquals(123, Batches.seedForRank(123, 1));
        ImageSet set = numbered(20);
        // the same images (a world of one for both) cropped and flipped from rank 0's and rank 1's streams
        try (Batches single = Batches.training(set, 20, 3, 0, true, false, 0);
             Batches asRank0 = Batches.training(set, 20, 3, 0, true, false, 0, 0, 1)) {
            assertArrayEquals(single.next().images(), asRank0.next().images());
        }
    }

    @Test
    void aLastBatchOfOneImageIsDropped() {
        assertEquals(2, Batches.batchCount(65, 32));
        assertEquals(3, Batches.batchCount(66, 32));
        assertEquals(2, Batches.batchCount(64, 32));
        assertEquals(1, Batches.batchCount(1, 32));
        assertEquals(List.of(32, 32), indices(Batches.training(numbered(65), 32, 0, 0, false)).stream().map(List::size).toList());
    }

    @Test
    void evaluationKeepsStoredOrder() {
        List<List<Integer>> batches = indices(Batches.evaluation(numbered(10), 4));
        assertEquals(List.of(List.of(0, 1, 2, 3), List.of(4, 5, 6, 7), List.of(8, 9)), batches);
    }

    @Test
    void closingEarlyStopsTheWorker() {
        Batches batches = Batches.training(numbered(200), 2, 0, 0, true);
        batches.next();
        batches.close(); // must not hang with the worker blocked on a full queue
    }
}
