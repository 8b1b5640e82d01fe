package dev.shakenet.data;

import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.SplittableRandom;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;

/**
 * The batches of one pass over an image set. With {@code background} on, they are assembled on
 * a background thread so the next one is ready when a (GPU) step ends; on a CPU whose cores all
 * run libtorch's threads that extra thread only contends with them (measured: 13% slower steps
 * on 2 cores), so there each batch is assembled when asked for, a few milliseconds a step. The
 * shuffled order and every crop, flip and cutout are a pure function of (seed, epoch, batch
 * index): a run, or a resumed run, sees the same data either way.
 */
public final class Batches implements Iterator<Batches.Batch>, AutoCloseable {
    /** One batch: normalized images (size,3,32,32), labels (size), and its index in the epoch. */
    public record Batch(int index, int size, float[] images, long[] labels) {}

    private static final int PREFETCH = 2;
    private final BlockingQueue<Object> queue = new ArrayBlockingQueue<>(PREFETCH);
    private final Thread worker; // null: batches are assembled in next()
    private final ImageSet set;
    private final int[] order;
    private final int batchSize;
    private final SplittableRandom[] randoms; // per batch; null: no random augmentation
    private final boolean cropAndFlip;
    private final int cutout;
    private final int count;
    private int taken;

    private Batches(ImageSet set, int[] order, int batchSize, SplittableRandom[] randoms, boolean cropAndFlip, int cutout, String name,
                    boolean background, int first) {
        this.set = set;
        this.order = order;
        this.batchSize = batchSize;
        this.randoms = randoms;
        this.cropAndFlip = cropAndFlip;
        this.cutout = cutout;
        this.count = batchCount(order.length, batchSize);
        if (first < 0 || first > count) throw new IllegalArgumentException("first batch " + first + " is outside 0.." + count);
        this.taken = first;
        worker = background ? Thread.ofPlatform().daemon().name(name).unstarted(this::produce) : null;
        if (worker != null) worker.start();
    }

    /**
     * The training batches of {@code epoch}: shuffled by (seed, epoch), augmented unless
     * {@code augment} is false. A last batch of one image is dropped (batch norm needs two).
     */
    public static Batches training(ImageSet set, int batchSize, long seed, int epoch, boolean augment) {
        return training(set, batchSize, seed, epoch, augment, true);
    }

    /** As above; {@code background} assembles batches ahead on a thread of their own. */
    public static Batches training(ImageSet set, int batchSize, long seed, int epoch, boolean augment, boolean background) {
        return training(set, batchSize, seed, epoch, augment, background, 0);
    }

    /** As above, from batch {@code first} on (a run resumed mid-epoch): the same batches an uninterrupted pass gives there. */
    public static Batches training(ImageSet set, int batchSize, long seed, int epoch, boolean augment, boolean background, int first) {
        return training(set, batchSize, seed, epoch, augment, background, first, 0, 1);
    }

    /**
     * Rank {@code rank}'s share of the epoch in a data-parallel run of {@code world} processes:
     * the epoch's shuffled order (the same on every rank), padded by repeating its start to a
     * multiple of {@code world} and dealt out interleaved (rank r takes positions r, r+world, ...),
     * as PyTorch's DistributedSampler with drop_last=False; crops and flips drawn from streams of
     * (seed, rank, epoch, batch). Rank 0 of a world of one is the single-process pass.
     */
    public static Batches training(ImageSet set, int batchSize, long seed, int epoch, boolean augment, boolean background, int first,
                                   int rank, int world) {
        return training(set, batchSize, seed, epoch, augment, background, first, rank, world, 0);
    }

    /**
     * As above, adding Cutout of a {@code cutout} x {@code cutout} patch (0: none) to each image,
     * whether or not {@code augment} crops and flips; its centre is drawn from the same per-batch
     * stream, after the image's crop and flip.
     */
    public static Batches training(ImageSet set, int batchSize, long seed, int epoch, boolean augment, boolean background, int first,
                                   int rank, int world, int cutout) {
        if (cutout < 0 || cutout > ImageSet.SIZE) throw new IllegalArgumentException("cutout " + cutout + " is outside 0.." + ImageSet.SIZE);
        int[] order = share(shuffled(set.count(), new SplittableRandom(mix(seed, epoch, -1))), rank, world);
        int batches = batchCount(order.length, batchSize);
        long rankSeed = seedForRank(seed, rank);
        SplittableRandom[] randoms = new SplittableRandom[batches];
        boolean random = augment || cutout > 0;
        for (int b = 0; b < batches; b++) randoms[b] = random ? new SplittableRandom(mix(rankSeed, epoch, b)) : null;
        return new Batches(set, order, batchSize, randoms, augment, cutout, "shakenet-train-batches", background, first);
    }

    /** Images in each rank's share of a pass over {@code images} images by {@code world} ranks (the padded count over world). */
    public static int shareSize(int images, int world) {
        return (images + world - 1) / world;
    }

    /** The seed of rank {@code rank}'s random streams: the run's seed for rank 0, a well-spread one for every other rank. */
    public static long seedForRank(long seed, int rank) {
        return rank == 0 ? seed : mix(seed, -1 - rank, -3);
    }

    static int[] share(int[] order, int rank, int world) {
        if (world < 1 || rank < 0 || rank >= world) throw new IllegalArgumentException("rank " + rank + " of a world of " + world);
        if (world == 1) return order;
        int per = shareSize(order.length, world);
        int[] mine = new int[per];
        for (int k = 0; k < per; k++) mine[k] = order[(rank + k * world) % order.length];
        return mine;
    }

    /** The batches of {@code set} in stored order, normalized only. */
    public static Batches evaluation(ImageSet set, int batchSize) {
        return evaluation(set, batchSize, true);
    }

    public static Batches evaluation(ImageSet set, int batchSize, boolean background) {
        int[] order = new int[set.count()];
        for (int i = 0; i < order.length; i++) order[i] = i;
        return new Batches(set, order, batchSize, new SplittableRandom[batchCount(order.length, batchSize)], false, 0, "shakenet-eval-batches", background, 0);
    }

    /** Batches in a pass over {@code images} images. */
    public static int batchCount(int images, int batchSize) {
        int full = images / batchSize, rest = images % batchSize;
        return full + (rest >= 2 || (rest == 1 && full == 0) ? 1 : 0);
    }

    static int[] shuffled(int n, SplittableRandom random) {
        int[] order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        for (int i = n - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        return order;
    }

    /** A well-spread seed for (run seed, epoch, batch). */
    static long mix(long seed, int epoch, int batch) {
        long z = seed * 0x9E3779B97F4A7C15L + (epoch + 1L) * 0xC2B2AE3D27D4EB4FL + (batch + 2L) * 0x165667B19E3779F9L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    private Batch assemble(int b) {
        int from = b * batchSize, to = Math.min(order.length, from + batchSize);
        int[] indices = java.util.Arrays.copyOfRange(order, from, to);
        long[] labels = new long[indices.length];
        for (int i = 0; i < indices.length; i++) labels[i] = set.label(indices[i]);
        return new Batch(b, indices.length, Augmentation.batch(set, indices, randoms[b], cropAndFlip, cutout), labels);
    }

    private void produce() {
        try {
            for (int b = taken; b < count; b++) queue.put(assemble(b));
        } catch (InterruptedException e) {
            // closed early
        } catch (Throwable t) {
            try {
                queue.put(t);
            } catch (InterruptedException ignored) {
                // closed early
            }
        }
    }

    public int count() {
        return count;
    }

    @Override
    public boolean hasNext() {
        return taken < count;
    }

    @Override
    public Batch next() {
        if (!hasNext()) throw new NoSuchElementException();
        if (worker == null) return assemble(taken++);
        Object item;
        try {
            item = queue.take();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for a batch", e);
        }
        if (item instanceof Throwable t) throw new DataException("preparing a batch failed: " + t, t);
        taken++;
        return (Batch) item;
    }

    @Override
    public void close() {
        if (worker == null) return;
        worker.interrupt();
        try {
            worker.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
