package dev.shakenet.torch;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads the pickles torch.save writes for state dicts and checkpoints (protocols 2 to 4): dicts
 * and OrderedDicts (their _metadata is skipped), lists, tuples, strings, numbers, and tensors
 * rebuilt with torch._utils._rebuild_tensor_v2 / _rebuild_parameter over persistent storages.
 * Any other object is refused by name: nothing is executed.
 */
final class PickleReader {
    /** A module-level name the pickle refers to. */
    record Global(String module, String name) {
        String qualified() {
            return module + "." + name;
        }
    }

    /** A storage record of the archive: data/&lt;key&gt;, numel elements of dtype. */
    record StorageRef(DType dtype, String key, long numel) {}

    /** A tensor view of a storage. */
    record TensorRef(StorageRef storage, long offset, long[] size, long[] stride) {}

    private final ByteBuffer in;
    private final List<Object> stack = new ArrayList<>();
    private final Deque<Integer> marks = new ArrayDeque<>();
    private final Map<Long, Object> memo = new HashMap<>();

    PickleReader(byte[] data) {
        this.in = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
    }

    Object load() {
        while (true) {
            int op = in.get() & 0xff;
            switch (op) {
                case 0x80 -> in.get();                                  // PROTO
                case 0x95 -> in.getLong();                              // FRAME
                case '.' -> {                                           // STOP
                    return pop();
                }
                case '(' -> marks.push(stack.size());                   // MARK
                case ')' -> push(new Object[0]);                        // EMPTY_TUPLE
                case '}' -> push(new LinkedHashMap<>());                // EMPTY_DICT
                case ']' -> push(new ArrayList<>());                    // EMPTY_LIST
                case 't' -> push(popMark().toArray());                  // TUPLE
                case 0x85 -> push(new Object[] {pop()});                // TUPLE1
                case 0x86 -> { Object b = pop(), a = pop(); push(new Object[] {a, b}); }
                case 0x87 -> { Object c = pop(), b = pop(), a = pop(); push(new Object[] {a, b, c}); }
                case 'a' -> { Object v = pop(); list(peek()).add(v); }  // APPEND
                case 'e' -> { List<Object> items = popMark(); list(peek()).addAll(items); }
                case 's' -> { Object v = pop(), k = pop(); dict(peek()).put(k, v); }
                case 'u' -> {                                           // SETITEMS
                    List<Object> items = popMark();
                    Map<Object, Object> d = dict(peek());
                    for (int i = 0; i + 1 < items.size(); i += 2) d.put(items.get(i), items.get(i + 1));
                }
                case 'X' -> push(text(in.getInt()));                    // BINUNICODE
                case 0x8c -> push(text(in.get() & 0xff));               // SHORT_BINUNICODE
                case 0x8d -> push(text((int) in.getLong()));            // BINUNICODE8
                case 'T' -> push(text(in.getInt()));                    // BINSTRING
                case 'U' -> push(text(in.get() & 0xff));                // SHORT_BINSTRING
                case 'B' -> push(bytes(in.getInt()));                   // BINBYTES
                case 'C' -> push(bytes(in.get() & 0xff));               // SHORT_BINBYTES
                case 'K' -> push((long) (in.get() & 0xff));             // BININT1
                case 'M' -> push((long) (in.getShort() & 0xffff));      // BININT2
                case 'J' -> push((long) in.getInt());                   // BININT
                case 0x8a -> push(long1(in.get() & 0xff));              // LONG1
                case 'G' -> push(Double.longBitsToDouble(Long.reverseBytes(in.getLong()))); // BINFLOAT (big-endian)
                case 0x88 -> push(Boolean.TRUE);
                case 0x89 -> push(Boolean.FALSE);
                case 'N' -> push(null);
                case 'c' -> push(new Global(line(), line()));           // GLOBAL
                case 0x93 -> { Object name = pop(), module = pop(); push(new Global((String) module, (String) name)); }
                case 'R', 0x81 -> { Object args = pop(), callable = pop(); push(call(callable, (Object[]) args)); } // REDUCE, NEWOBJ
                case 'b' -> pop();                                      // BUILD: state (an OrderedDict's _metadata) is not needed
                case 'Q' -> push(persistent((Object[]) pop()));         // BINPERSID
                case 'q' -> memo.put((long) (in.get() & 0xff), peek()); // BINPUT
                case 'r' -> memo.put((long) in.getInt(), peek());       // LONG_BINPUT
                case 0x94 -> memo.put((long) memo.size(), peek());      // MEMOIZE
                case 'h' -> push(memo.get((long) (in.get() & 0xff)));   // BINGET
                case 'j' -> push(memo.get((long) in.getInt()));         // LONG_BINGET
                default -> throw new IllegalArgumentException("unsupported pickle opcode 0x" + Integer.toHexString(op)
                        + " at byte " + (in.position() - 1));
            }
        }
    }

    private Object call(Object callable, Object[] args) {
        if (!(callable instanceof Global g)) throw new IllegalArgumentException("pickle calls a non-global " + callable);
        return switch (g.qualified()) {
            case "collections.OrderedDict", "builtins.dict" -> new LinkedHashMap<>();
            case "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor" ->
                    new TensorRef((StorageRef) args[0], (Long) args[1], longs(args[2]), longs(args[3]));
            case "torch._utils._rebuild_parameter" -> args[0];
            default -> throw new IllegalArgumentException("the file holds a " + g.qualified() + ", which is not part of a state dict");
        };
    }

    private static StorageRef persistent(Object[] id) {
        if (id.length < 5 || !"storage".equals(id[0])) throw new IllegalArgumentException("unknown persistent id " + List.of(id));
        String type = ((Global) id[1]).name();
        DType dtype = switch (type) {
            case "FloatStorage" -> DType.FLOAT32;
            case "DoubleStorage" -> DType.FLOAT64;
            case "HalfStorage" -> DType.FLOAT16;
            case "BFloat16Storage" -> DType.BFLOAT16;
            case "ByteStorage" -> DType.UINT8;
            case "IntStorage" -> DType.INT32;
            case "LongStorage" -> DType.INT64;
            case "BoolStorage" -> DType.BOOL;
            default -> throw new IllegalArgumentException("tensors of storage type " + type + " are not supported");
        };
        return new StorageRef(dtype, String.valueOf(id[2]), (Long) id[4]);
    }

    private static long[] longs(Object tuple) {
        Object[] t = (Object[]) tuple;
        long[] out = new long[t.length];
        for (int i = 0; i < t.length; i++) out[i] = (Long) t[i];
        return out;
    }

    @SuppressWarnings("unchecked")
    private static List<Object> list(Object o) {
        return (List<Object>) o;
    }

    @SuppressWarnings("unchecked")
    private static Map<Object, Object> dict(Object o) {
        return (Map<Object, Object>) o;
    }

    private void push(Object o) {
        stack.add(o);
    }

    private Object pop() {
        return stack.removeLast();
    }

    private Object peek() {
        return stack.getLast();
    }

    private List<Object> popMark() {
        int at = marks.pop();
        List<Object> items = new ArrayList<>(stack.subList(at, stack.size()));
        stack.subList(at, stack.size()).clear();
        return items;
    }

    private String text(int length) {
        return new String(bytes(length), StandardCharsets.UTF_8);
    }

    private byte[] bytes(int length) {
        byte[] b = new byte[length];
        in.get(b);
        return b;
    }

    private long long1(int length) {
        long v = 0;
        for (int i = 0; i < length; i++) v |= (in.get() & 0xffL) << (8 * i);
        if (length > 0 && length < 8 && (v >>> (8 * length - 1) & 1) == 1) v -= 1L << (8 * length); // sign
        return v;
    }

    private String line() {
        StringBuilder s = new StringBuilder();
        for (byte b; (b = in.get()) != '\n'; ) s.append((char) b);
        return s.toString();
    }
}
