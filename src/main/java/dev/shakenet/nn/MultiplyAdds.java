package dev.shakenet.nn;

import dev.shakenet.torch.Tensor;

/**
 * Counts the multiply-adds of the convolutions and linear layers that run on this thread while
 * it is open, from the shapes they actually ran with: the model's arithmetic, measured rather
 * than derived by hand. With no counter open, counting costs one
 * thread-local read per layer. Counters nest: an inner count is added to the outer one when it closes.
 */
public final class MultiplyAdds implements AutoCloseable {
    private static final ThreadLocal<MultiplyAdds> CURRENT = new ThreadLocal<>();

    private final MultiplyAdds outer = CURRENT.get();
    private long count;

    private MultiplyAdds() {}

    /** Starts counting on this thread. */
    public static MultiplyAdds start() {
        MultiplyAdds counter = new MultiplyAdds();
        CURRENT.set(counter);
        return counter;
    }

    /** Multiply-adds counted so far. */
    public long total() {
        return count;
    }

    @Override
    public void close() {
        if (CURRENT.get() == this) CURRENT.set(outer);
        if (outer != null) outer.count += count;
    }

    /** A layer computed {@code output} with {@code weight}: each output element took in*kh*kw (or in) multiply-adds. */
    static void record(Tensor output, Tensor weight) {
        MultiplyAdds counter = CURRENT.get();
        if (counter == null) return;
        long[] w = weight.shape();
        long perOutput = 1;
        for (int i = 1; i < w.length; i++) perOutput *= w[i];
        counter.count += output.numel() * perOutput;
    }
}
