package dev.shakenet.torch;

import static dev.shakenet.torch.Native.check;
import static dev.shakenet.torch.ffi.shakenet_h.sn_store_file;
import static dev.shakenet.torch.ffi.shakenet_h.sn_store_free;
import static dev.shakenet.torch.ffi.shakenet_h.sn_store_port;
import static dev.shakenet.torch.ffi.shakenet_h.sn_store_tcp;

import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.time.Duration;

/**
 * A c10d key-value store where the ranks of a process group meet (shakenet.h: sn_store_tcp,
 * sn_store_file): a TCPStore that this process hosts or reaches, or a FileStore on a shared path.
 */
public final class Store implements AutoCloseable {
    static {
        NativeLibrary.ensureLoaded();
    }

    private MemorySegment handle;

    private Store(MemorySegment handle) {
        this.handle = handle;
    }

    /** Hosts a TCPStore on {@code host}:{@code port} (0: a free port, see {@link #port()}). */
    public static Store hostTcp(String host, int port, Duration timeout) {
        return tcp(host, port, true, timeout);
    }

    /** Reaches the TCPStore at {@code host}:{@code port}, retrying until {@code timeout} has passed. */
    public static Store connectTcp(String host, int port, Duration timeout) {
        return tcp(host, port, false, timeout);
    }

    private static Store tcp(String host, int port, boolean server, Duration timeout) {
        return new Store(Native.handle((arena, out) -> sn_store_tcp(arena.allocateFrom(host), port, server ? 1 : 0, seconds(timeout), out)));
    }

    /** A FileStore at {@code path} (on a file system every rank sees) for {@code worldSize} ranks. */
    public static Store file(Path path, int worldSize, Duration timeout) {
        return new Store(Native.handle((arena, out) -> sn_store_file(arena.allocateFrom(path.toString()), worldSize, seconds(timeout), out)));
    }

    /** The TCP port the store listens on or connects to (0 for a FileStore). */
    public int port() {
        return Native.readInt((arena, out) -> sn_store_port(handle(), out));
    }

    MemorySegment handle() {
        if (handle == null) throw new IllegalStateException("the store is closed");
        return handle;
    }

    static double seconds(Duration timeout) {
        return timeout.toNanos() / 1e9;
    }

    @Override
    public void close() {
        if (handle == null) return;
        check(sn_store_free(handle));
        handle = null;
    }
}
