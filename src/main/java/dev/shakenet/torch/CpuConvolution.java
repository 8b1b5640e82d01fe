package dev.shakenet.torch;

import static dev.shakenet.torch.Native.check;
import static dev.shakenet.torch.ffi.shakenet_h.*;

/**
 * Which algorithm CPU convolutions use. libtorch runs them all with oneDNN's direct algorithm;
 * with Winograd on, float32 3x3 stride-1 convolutions (the bulk of a Shake-Shake step) run with
 * oneDNN's Winograd F(4x4,3x3) kernels instead (the shim's winograd_conv.cpp), forward and
 * backward. They round differently from the direct ones (relative errors around 1e-6), so off
 * gives libtorch's results exactly. Process-wide; off until switched on.
 */
public final class CpuConvolution {
    static {
        NativeLibrary.ensureLoaded();
    }

    private CpuConvolution() {}

    /** Whether the library was built with oneDNN's headers and that oneDNN is the one loaded. */
    public static boolean winogradAvailable() {
        return Native.readInt((arena, out) -> sn_cpu_winograd_available(out)) != 0;
    }

    /** Switches Winograd on or off; switching on where it is not available throws, saying why. */
    public static void useWinograd(boolean on) {
        check(sn_cpu_winograd_enable(on ? 1 : 0));
    }

    public static boolean isWinograd() {
        return Native.readInt((arena, out) -> sn_cpu_winograd_is_enabled(out)) != 0;
    }

    /** How many convolutions have run with Winograd in this process. */
    public static long winogradCalls() {
        return Native.readLong((arena, out) -> sn_cpu_winograd_calls(out));
    }
}
