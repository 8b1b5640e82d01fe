package dev.shakenet.torch;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Writes the pickle (protocol 2) that torch.save writes for a state dict: an OrderedDict of
 * name -> torch._utils._rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks),
 * each storage a persistent id ('storage', torch.&lt;Type&gt;Storage, key, 'cpu', numel). Only globals
 * that torch.load accepts with weights_only=True are used.
 */
final class PickleWriter {
    /** One tensor to record: its name, dtype, shape and the key of its storage record. */
    record Entry(String name, DType dtype, long[] shape, String storageKey, long numel) {}

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    static byte[] stateDict(List<Entry> entries) {
        PickleWriter w = new PickleWriter();
        w.op(0x80).op(2);                           // PROTO 2
        w.global("collections", "OrderedDict").op(')').op('R');
        w.op('(');                                  // MARK
        for (Entry e : entries) {
            w.string(e.name());
            w.global("torch._utils", "_rebuild_tensor_v2");
            w.op('(');                              // MARK: the arguments
            w.op('(').string("storage").global("torch", storageClass(e.dtype())).string(e.storageKey()).string("cpu").integer(e.numel())
                    .op('t').op('Q');               // TUPLE, BINPERSID
            w.integer(0);                           // storage offset
            w.tuple(e.shape());
            w.tuple(contiguousStrides(e.shape()));
            w.op(0x89);                             // NEWFALSE: requires_grad
            w.global("collections", "OrderedDict").op(')').op('R'); // backward hooks
            w.op('t').op('R');                      // TUPLE, REDUCE
        }
        w.op('u').op('.');                          // SETITEMS, STOP
        return w.out.toByteArray();
    }

    static String storageClass(DType dtype) {
        return switch (dtype) {
            case FLOAT32 -> "FloatStorage";
            case FLOAT64 -> "DoubleStorage";
            case FLOAT16 -> "HalfStorage";
            case BFLOAT16 -> "BFloat16Storage";
            case UINT8 -> "ByteStorage";
            case INT32 -> "IntStorage";
            case INT64 -> "LongStorage";
            case BOOL -> "BoolStorage";
        };
    }

    static long[] contiguousStrides(long[] shape) {
        long[] strides = new long[shape.length];
        long s = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            strides[i] = s;
            s *= Math.max(shape[i], 1);
        }
        return strides;
    }

    private PickleWriter op(int code) {
        out.write(code);
        return this;
    }

    private PickleWriter global(String module, String name) {
        out.write('c');
        out.writeBytes((module + "\n" + name + "\n").getBytes(StandardCharsets.US_ASCII));
        return this;
    }

    private PickleWriter string(String s) {
        byte[] utf8 = s.getBytes(StandardCharsets.UTF_8);
        out.write('X');
        int n = utf8.length;
        out.write(n);
        out.write(n >>> 8);
        out.write(n >>> 16);
        out.write(n >>> 24);
        out.writeBytes(utf8);
        return this;
    }

    private PickleWriter integer(long v) {
        if (v >= 0 && v < 256) {
            out.write('K');
            out.write((int) v);
        } else if (v >= 0 && v < 65536) {
            out.write('M');
            out.write((int) v);
            out.write((int) (v >>> 8));
        } else if (v >= Integer.MIN_VALUE && v <= Integer.MAX_VALUE) {
            out.write('J');
            for (int i = 0; i < 4; i++) out.write((int) (v >>> (8 * i)));
        } else {
            out.write(0x8a);                        // LONG1: 8 little-endian two's-complement bytes
            out.write(8);
            for (int i = 0; i < 8; i++) out.write((int) (v >>> (8 * i)));
        }
        return this;
    }

    private PickleWriter tuple(long[] values) {
        if (values.length == 0) return op(')');
        op('(');
        for (long v : values) integer(v);
        return op('t');
    }
}
