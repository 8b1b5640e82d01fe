package dev.shakenet.torch;

import java.util.ArrayList;

/**
 * Owns every tensor created on this thread while it is the innermost open scope, and frees
 * them all when it closes, so a training step releases its intermediates deterministically
 * instead of waiting for the garbage collector:
 *
 * <pre>{@code
 * try (var step = TensorScope.open()) {
 *     Tensor loss = model.forward(x).crossEntropy(y);   // every intermediate belongs to `step`
 *     loss.backward();
 *     return step.keep(loss.detach());                 // survives: moves to the enclosing scope
 * }
 * }</pre>
 *
 * Scopes nest per thread and must close innermost first, on the thread that opened them.
 * Tensors created with no scope open belong to the caller, who closes them.
 */
public final class TensorScope implements AutoCloseable {
    private static final ThreadLocal<TensorScope> CURRENT = new ThreadLocal<>();

    private final TensorScope parent;
    private final Thread thread = Thread.currentThread();
    private final ArrayList<Tensor> owned = new ArrayList<>();
    private boolean closed;

    private TensorScope(TensorScope parent) {
        this.parent = parent;
    }

    /** Opens a scope nested in this thread's current one. */
    public static TensorScope open() {
        TensorScope scope = new TensorScope(CURRENT.get());
        CURRENT.set(scope);
        return scope;
    }

    /** This thread's innermost open scope, or null. */
    static TensorScope current() {
        return CURRENT.get();
    }

    void adopt(Tensor tensor) {
        owned.add(tensor);
    }

    /** A tensor closed itself; drop it cheaply when it is the newest (the common case). */
    void release(Tensor tensor) {
        int last = owned.size() - 1;
        if (last >= 0 && owned.get(last) == tensor) owned.remove(last);
    }

    /** Moves {@code tensor} out of this scope into the enclosing one (or to the caller, if none). */
    public <T extends Tensor> T keep(T tensor) {
        disown(tensor);
        tensor.moveTo(parent);
        return tensor;
    }

    void disown(Tensor tensor) {
        for (int i = owned.size() - 1; i >= 0; i--) {
            if (owned.get(i) == tensor) {
                owned.remove(i);
                return;
            }
        }
        throw new IllegalArgumentException(tensor + " does not belong to this scope");
    }

    /** How many live tensors this scope owns. */
    public int size() {
        return (int) owned.stream().filter(t -> !t.isClosed()).count();
    }

    /** Frees every tensor this scope still owns, newest first. */
    @Override
    public void close() {
        if (closed) return;
        if (Thread.currentThread() != thread) {
            throw new IllegalStateException("a TensorScope must be closed on the thread that opened it (" + thread.getName() + ")");
        }
        closed = true;
        boolean innermost = CURRENT.get() == this;
        if (innermost) {
            if (parent == null) CURRENT.remove(); else CURRENT.set(parent);
        }
        RuntimeException failure = null;
        for (int i = owned.size() - 1; i >= 0; i--) {
            try {
                owned.get(i).close();
            } catch (RuntimeException e) {
                if (failure == null) failure = e; else failure.addSuppressed(e);
            }
        }
        owned.clear();
        if (!innermost) {
            IllegalStateException e = new IllegalStateException("TensorScopes must close innermost first; this one closed while a nested scope was open");
            if (failure != null) e.addSuppressed(failure);
            throw e;
        }
        if (failure != null) throw failure;
    }
}
