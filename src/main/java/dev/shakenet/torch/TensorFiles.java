package dev.shakenet.torch;

import static dev.shakenet.torch.Native.check;
import static dev.shakenet.torch.ffi.shakenet_h.*;
import static java.lang.foreign.ValueLayout.ADDRESS;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Named tensors to and from files in PyTorch's serialization format: what {@link #save} writes,
 * Python's {@code torch.load(path)} returns as a dict of tensors, and {@link #load} reads files
 * written by Python's {@code torch.save(state_dict)}.
 */
public final class TensorFiles {
    static {
        NativeLibrary.ensureLoaded();
    }

    private TensorFiles() {}

    /** Writes {name: tensor} in map order, as contiguous CPU tensors. The caller makes it atomic (write elsewhere, then rename). */
    public static void save(Path path, Map<String, Tensor> tensors) {
        try (Arena arena = Arena.ofConfined()) {
            int n = tensors.size();
            MemorySegment names = arena.allocate(ADDRESS, Math.max(n, 1));
            MemorySegment handles = arena.allocate(ADDRESS, Math.max(n, 1));
            int i = 0;
            for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
                names.setAtIndex(ADDRESS, i, arena.allocateFrom(e.getKey()));
                handles.setAtIndex(ADDRESS, i, e.getValue().handle());
                i++;
            }
            check(sn_save_tensors(arena.allocateFrom(path.toString()), names, handles, n));
        }
    }

    /** Reads a dict of named tensors (CPU) in file order; the caller owns the tensors (or its scope does). */
    public static Map<String, Tensor> load(Path path) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        MemorySegment list = Native.handle((arena, o) -> sn_load_tensors(arena.allocateFrom(path.toString()), o));
        try (Arena arena = Arena.ofConfined()) {
            int n = Native.readInt((a, o) -> sn_tensor_list_size(list, o));
            MemorySegment name = arena.allocate(ADDRESS);
            MemorySegment tensor = arena.allocate(ADDRESS);
            for (int i = 0; i < n; i++) {
                check(sn_tensor_list_get(list, i, name, tensor));
                out.put(name.get(ADDRESS, 0).reinterpret(Integer.MAX_VALUE).getString(0), Tensor.own(tensor.get(ADDRESS, 0)));
            }
        } finally {
            check(sn_tensor_list_free(list));
        }
        return out;
    }
}
