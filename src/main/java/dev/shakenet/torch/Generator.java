package dev.shakenet.torch;

import static dev.shakenet.torch.Native.check;
import static dev.shakenet.torch.ffi.shakenet_h.*;

import java.lang.foreign.MemorySegment;

/** A seedable libtorch random generator for one device (for shake coefficients, init, dropout). */
public final class Generator implements AutoCloseable {
    static {
        NativeLibrary.ensureLoaded();
    }

    private MemorySegment handle;
    private final Device device;

    private Generator(MemorySegment handle, Device device) {
        this.handle = handle;
        this.device = device;
    }

    public static Generator create(Device device, long seed) {
        return new Generator(Native.handle((arena, out) -> sn_generator_new(device.typeCode(), device.index(), seed, out)), device);
    }

    /**
     * libtorch's default generator of {@code device} (seeded by {@link Torch#manualSeed}); closing
     * this handle leaves the generator itself in place.
     */
    public static Generator defaultFor(Device device) {
        return new Generator(Native.handle((arena, out) -> sn_generator_default(device.typeCode(), device.index(), out)), device);
    }

    static MemorySegment handleOf(Generator generator) {
        if (generator == null) return MemorySegment.NULL;
        if (generator.handle == null) throw new IllegalStateException("generator used after close");
        return generator.handle;
    }

    public Device device() {
        return device;
    }

    /** The full generator state as a uint8 CPU tensor (for checkpoints). */
    public Tensor state() {
        return Tensor.own(Native.handle((arena, out) -> sn_generator_get_state(handleOf(this), out)));
    }

    public void setState(Tensor state) {
        check(sn_generator_set_state(handleOf(this), state.handle()));
    }

    @Override
    public void close() {
        if (handle == null) return;
        MemorySegment h = handle;
        handle = null;
        check(sn_generator_free(h));
    }
}
