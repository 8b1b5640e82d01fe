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
