package dev.shakenet.torch;

import static dev.shakenet.torch.Native.check;
import static dev.shakenet.torch.ffi.shakenet_h.sn_autocast_enter;
import static dev.shakenet.torch.ffi.shakenet_h.sn_autocast_exit;

/**
 * A mixed-precision region on this thread (PyTorch's autocast): convolutions and matrix
 * products run in bfloat16 or float16 while parameters stay float32. Open it around the forward
 * pass only: {@code try (var amp = Autocast.enter(device, DType.BFLOAT16)) { logits = model.forward(x); }}.
 */
public final class Autocast implements AutoCloseable {
    static {
        NativeLibrary.ensureLoaded();
    }

    private final Device device;
    private final Thread thread = Thread.currentThread();
    private boolean closed;

    private Autocast(Device device) {
        this.device = device;
    }

    /** Enters a region computing in {@code dtype} (BFLOAT16 on CPU or CUDA, FLOAT16 on CUDA); null dtype: no region. */
    public static Autocast enter(Device device, DType dtype) {
        if (dtype == null) return new Autocast(null);
        check(sn_autocast_enter(device.typeCode(), dtype.code()));
        return new Autocast(device);
    }

    @Override
    public void close() {
        if (closed || device == null) return;
        if (Thread.currentThread() != thread) throw new IllegalStateException("autocast is per thread: close it on " + thread.getName());
        closed = true;
        check(sn_autocast_exit(device.typeCode()));
    }
}
