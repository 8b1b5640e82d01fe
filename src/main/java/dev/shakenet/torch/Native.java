package dev.shakenet.torch;

import static dev.shakenet.torch.ffi.shakenet_h.sn_last_error;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * The few patterns every call into the bindings follows: turn a status into a {@link TorchException}
 * carrying the native message, and read results written through out-parameters. Callers must have
 * loaded the library first ({@link NativeLibrary#ensureLoaded()}; the public entry classes do it
 * in their static initializers).
 */
final class Native {
    private Native() {}

    /**
     * A native call writing its result through {@code out}; {@code arena} lives until the call
     * returns, for its other arguments (shapes, lists).
     */
    @FunctionalInterface
    interface OutCall {
        int call(Arena arena, MemorySegment out);
    }

    /** A native call writing several results, one through each of {@code outs}. */
    @FunctionalInterface
    interface OutsCall {
        int call(Arena arena, MemorySegment[] outs);
    }

    static void check(int status) {
        if (status != 0) throw error(status);
    }

    /** The exception for a failed call; must run on the failing thread, right after the call. */
    static TorchException error(int status) {
        String message = sn_last_error().getString(0);
        if (message.isEmpty()) message = "native call failed with status " + status + " and no message";
        return new TorchException(TorchException.Kind.of(status), message);
    }

    /** Runs a call that creates a handle and returns that handle (possibly NULL where the ABI allows). */
    static MemorySegment handle(OutCall call) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ADDRESS);
            check(call.call(arena, out));
            return out.get(ADDRESS, 0);
        }
    }

    /** Runs a call that creates {@code count} handles and returns them. */
    static MemorySegment[] handles(int count, OutsCall call) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment[] outs = new MemorySegment[count];
            for (int i = 0; i < count; i++) outs[i] = arena.allocate(ADDRESS);
            check(call.call(arena, outs));
            MemorySegment[] handles = new MemorySegment[count];
            for (int i = 0; i < count; i++) handles[i] = outs[i].get(ADDRESS, 0);
            return handles;
        }
    }

    static int readInt(OutCall call) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(JAVA_INT);
            check(call.call(arena, out));
            return out.get(JAVA_INT, 0);
        }
    }

    static long readLong(OutCall call) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(JAVA_LONG);
            check(call.call(arena, out));
            return out.get(JAVA_LONG, 0);
        }
    }

    static double readDouble(OutCall call) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(JAVA_DOUBLE);
            check(call.call(arena, out));
            return out.get(JAVA_DOUBLE, 0);
        }
    }

    /** A native copy of a shape. */
    static MemorySegment longs(Arena arena, long[] values) {
        return values.length == 0 ? arena.allocate(JAVA_LONG) : arena.allocateFrom(JAVA_LONG, values);
    }
}
