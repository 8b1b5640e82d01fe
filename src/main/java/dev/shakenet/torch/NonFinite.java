package dev.shakenet.torch;

import static dev.shakenet.torch.Native.check;
import static dev.shakenet.torch.ffi.shakenet_h.sn_nonfinite_record;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Which steps saw an inf or NaN, recorded on the device (shakenet.h: sn_nonfinite_record): a
 * CUDA step adds to the record without waiting for it, and the trainer reads it when it
 * synchronises anyway.
 */
public final class NonFinite implements AutoCloseable {
    static {
        NativeLibrary.ensureLoaded();
    }

    /** What the record holds: how many recorded steps had a non-finite value, and the first of them (-1: none). */
    public record Count(long steps, long firstStep) {
        public boolean any() {
            return steps > 0;
        }
    }

    private final Tensor record; // int64 (2): steps, first step

    /** An empty record on {@code device}. */
    public NonFinite(Device device) {
        try (Tensor host = Tensor.fromLongs(new long[] {0, -1}, 2)) {
            record = host.to(device).unscoped();
        }
    }

    /**
     * Records {@code step} as non-finite when any of {@code values}, or any gradient of
     * {@code gradientsOf}, holds an inf or NaN. No device synchronisation.
     */
    public void record(long step, List<Tensor> values, List<Tensor> gradientsOf) {
        int n = values.size() + gradientsOf.size();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment handles = arena.allocate(ADDRESS, Math.max(n, 1));
            MemorySegment ofGrad = arena.allocate(JAVA_INT, Math.max(n, 1));
            int i = 0;
            for (Tensor t : values) {
                handles.setAtIndex(ADDRESS, i, t.handle());
                ofGrad.setAtIndex(JAVA_INT, i++, 0);
            }
            for (Tensor t : gradientsOf) {
                handles.setAtIndex(ADDRESS, i, t.handle());
                ofGrad.setAtIndex(JAVA_INT, i++, 1);
            }
            check(sn_nonfinite_record(handles, ofGrad, n, step, record.handle()));
        }
    }

    /** Reads the record (one device synchronisation). */
    public Count read() {
        try (Tensor host = record.to(Device.CPU)) {
            long[] v = host.toLongArray();
            return new Count(v[0], v[1]);
        }
    }

    /** Empties the record. */
    public void reset() {
        try (Tensor host = Tensor.fromLongs(new long[] {0, -1}, 2)) {
            record.copyFrom(host);
        }
    }

    /** The names of the tensors in {@code named} that hold an inf or NaN (one synchronisation per device, more only when some do). */
    public static List<String> namesOfNonFinite(Map<String, Tensor> named) {
        Map<Device, List<Map.Entry<String, Tensor>>> byDevice = new LinkedHashMap<>();
        named.entrySet().forEach(e -> byDevice.computeIfAbsent(e.getValue().device(), d -> new ArrayList<>()).add(e));
        List<String> out = new ArrayList<>();
        for (Map.Entry<Device, List<Map.Entry<String, Tensor>>> group : byDevice.entrySet()) {
            List<Tensor> tensors = group.getValue().stream().map(Map.Entry::getValue).toList();
            if (!anyIn(group.getKey(), tensors)) continue;
            for (Map.Entry<String, Tensor> e : group.getValue()) {
                if (anyIn(group.getKey(), List.of(e.getValue()))) out.add(e.getKey());
            }
        }
        return out;
    }

    private static boolean anyIn(Device device, Collection<Tensor> tensors) {
        try (NonFinite check = new NonFinite(device)) {
            check.record(0, List.copyOf(tensors), List.of());
            return check.read().any();
        }
    }

    @Override
    public void close() {
        record.close();
    }
}
