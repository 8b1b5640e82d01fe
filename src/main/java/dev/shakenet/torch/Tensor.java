package dev.shakenet.torch;

import static dev.shakenet.torch.Native.check;
import static dev.shakenet.torch.Native.longs;
import static dev.shakenet.torch.ffi.shakenet_h.*;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * One libtorch tensor, owned through a native handle. Closing it frees the handle; a tensor
 * created inside a {@link TensorScope} is closed by that scope. Using a closed tensor throws
 * {@link TorchException}. Arithmetic and autograd live here; network ops in {@link Functional}.
 */
public final class Tensor implements AutoCloseable {
    static {
        NativeLibrary.ensureLoaded();
    }

    private MemorySegment handle;
    private TensorScope owner;

    private Tensor(MemorySegment handle) {
        this.handle = handle;
        this.owner = TensorScope.current();
        if (owner != null) owner.adopt(this);
    }

    /** Takes ownership of a handle the native side just created (NULL gives null). */
    static Tensor own(MemorySegment handle) {
        return handle.equals(MemorySegment.NULL) ? null : new Tensor(handle);
    }

    /** The handle for a native call: NULL once closed, which the library reports as an error. */
    MemorySegment handle() {
        return handle == null ? MemorySegment.NULL : handle;
    }

    /** The handle of an optional argument. */
    static MemorySegment handleOf(Tensor tensor) {
        return tensor == null ? MemorySegment.NULL : tensor.handle();
    }

    void moveTo(TensorScope scope) {
        owner = scope;
        if (scope != null) scope.adopt(this);
    }

    /**
     * Takes this tensor out of the scope that owns it, so it lives until closed explicitly
     * (model parameters, optimizer state); returns this.
     */
    public Tensor unscoped() {
        if (owner != null) {
            owner.disown(this);
            owner = null;
        }
        return this;
    }

    public boolean isClosed() {
        return handle == null;
    }

    /** Frees the native handle; idempotent. */
    @Override
    public void close() {
        if (handle == null) return;
        MemorySegment h = handle;
        handle = null;
        if (owner != null) owner.release(this);
        check(sn_tensor_free(h));
    }

    // ---- creation -------------------------------------------------------------------------

    /** A CPU tensor holding a copy of {@code data} (elements of {@code dtype}, row-major). */
    public static Tensor fromSegment(MemorySegment data, DType dtype, long... shape) {
        return own(Native.handle((arena, out) -> sn_tensor_from_data(data, data.byteSize(), dtype.code(), longs(arena, shape), shape.length, out)));
    }

    /** A tensor in page-locked host memory (CUDA builds only), for asynchronous copies to a GPU. */
    public static Tensor fromFloatsPinned(float[] data, long... shape) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment segment = arena.allocateFrom(JAVA_FLOAT, data);
            return own(Native.handle((a, out) -> sn_tensor_from_data_pinned(segment, segment.byteSize(), DType.FLOAT32.code(),
                    longs(a, shape), shape.length, out)));
        }
    }

    public static Tensor fromFloats(float[] data, long... shape) {
        return fromArray(data, DType.FLOAT32, shape);
    }

    public static Tensor fromDoubles(double[] data, long... shape) {
        return fromArray(data, DType.FLOAT64, shape);
    }

    public static Tensor fromLongs(long[] data, long... shape) {
        return fromArray(data, DType.INT64, shape);
    }

    /** A uint8 tensor (values 0..255 stored in Java's signed bytes). */
    public static Tensor fromBytes(byte[] data, long... shape) {
        return fromArray(data, DType.UINT8, shape);
    }

    private static Tensor fromArray(Object array, DType dtype, long[] shape) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment data = switch (array) {
                case float[] a -> arena.allocateFrom(JAVA_FLOAT, a);
                case double[] a -> arena.allocateFrom(JAVA_DOUBLE, a);
                case long[] a -> arena.allocateFrom(JAVA_LONG, a);
                case byte[] a -> arena.allocateFrom(JAVA_BYTE, a);
                default -> throw new IllegalArgumentException("unsupported array " + array.getClass());
            };
            return fromSegment(data, dtype, shape);
        }
    }

    public static Tensor zeros(DType dtype, Device device, long... shape) {
        return own(Native.handle((arena, out) -> sn_zeros(longs(arena, shape), shape.length, dtype.code(), device.typeCode(), device.index(), out)));
    }

    /** Zeros with {@code like}'s shape, dtype, device and memory format (never requiring grad). */
    public static Tensor zerosLike(Tensor like) {
        return own(Native.handle((arena, out) -> sn_zeros_like(like.handle(), out)));
    }

    public static Tensor ones(DType dtype, Device device, long... shape) {
        return own(Native.handle((arena, out) -> sn_ones(longs(arena, shape), shape.length, dtype.code(), device.typeCode(), device.index(), out)));
    }

    public static Tensor full(double value, DType dtype, Device device, long... shape) {
        return own(Native.handle((arena, out) -> sn_full(longs(arena, shape), shape.length, value, dtype.code(), device.typeCode(), device.index(), out)));
    }

    /** Normal(mean, std) draws; {@code generator} may be null for the device's default generator. */
    public static Tensor randn(double mean, double std, DType dtype, Device device, Generator generator, long... shape) {
        return own(Native.handle((arena, out) -> sn_randn(longs(arena, shape), shape.length, mean, std, dtype.code(),
                device.typeCode(), device.index(), Generator.handleOf(generator), out)));
    }

    /** Uniform [low, high) draws; {@code generator} may be null for the device's default generator. */
    public static Tensor uniform(double low, double high, DType dtype, Device device, Generator generator, long... shape) {
        return own(Native.handle((arena, out) -> sn_rand_uniform(longs(arena, shape), shape.length, low, high, dtype.code(),
                device.typeCode(), device.index(), Generator.handleOf(generator), out)));
    }

    /** Bernoulli(p) draws, 1 with probability p and else 0; {@code generator} may be null for the device's default generator. */
    public static Tensor bernoulli(double p, DType dtype, Device device, Generator generator, long... shape) {
        return own(Native.handle((arena, out) -> sn_bernoulli(longs(arena, shape), shape.length, p, dtype.code(),
                device.typeCode(), device.index(), Generator.handleOf(generator), out)));
    }

    // ---- conversion and transfer ----------------------------------------------------------

    /** Converts device, dtype and layout at once; null keeps the current device / dtype. */
    public Tensor to(Device device, DType dtype, MemoryFormat format, boolean nonBlocking) {
        int deviceType = device == null ? SN_KEEP() : device.typeCode();
        int deviceIndex = device == null ? -1 : device.index();
        int dtypeCode = dtype == null ? SN_KEEP() : dtype.code();
        return own(Native.handle((arena, out) -> sn_to(handle(), deviceType, deviceIndex, dtypeCode, format.code(), nonBlocking ? 1 : 0, out)));
    }

    public Tensor to(Device device) {
        return to(device, null, MemoryFormat.PRESERVE, false);
    }

    public Tensor to(DType dtype) {
        return to(null, dtype, MemoryFormat.PRESERVE, false);
    }

    public Tensor to(MemoryFormat format) {
        return to(null, null, format, false);
    }

    /** Copies {@code src} into this tensor in place (shapes broadcast; devices and dtypes may differ). */
    public void copyFrom(Tensor src) {
        check(sn_copy_(handle(), src.handle()));
    }

    public Tensor copy() {
        return own(Native.handle((arena, out) -> sn_clone(handle(), out)));
    }

    /** Shares storage, outside the autograd graph. */
    public Tensor detach() {
        return own(Native.handle((arena, out) -> sn_detach(handle(), out)));
    }

    public Tensor reshape(long... shape) {
        return own(Native.handle((arena, out) -> sn_reshape(handle(), longs(arena, shape), shape.length, out)));
    }

    /** A view with the given sizes and strides (in elements), {@code offset} elements into this tensor's storage. */
    public Tensor asStrided(long[] sizes, long[] strides, long offset) {
        if (sizes.length != strides.length) throw new IllegalArgumentException("sizes and strides differ in length");
        return own(Native.handle((arena, out) -> sn_as_strided(handle(), longs(arena, sizes), longs(arena, strides), sizes.length, offset, out)));
    }

    /** Copies the elements (row-major) into {@code data}, which must be exactly numel * element size bytes. */
    public void copyTo(MemorySegment data) {
        check(sn_tensor_copy_to_host(handle(), data, data.byteSize()));
    }

    public float[] toFloatArray() {
        return toArray(DType.FLOAT32, JAVA_FLOAT, s -> s.toArray(JAVA_FLOAT));
    }

    public double[] toDoubleArray() {
        return toArray(DType.FLOAT64, JAVA_DOUBLE, s -> s.toArray(JAVA_DOUBLE));
    }

    public long[] toLongArray() {
        return toArray(DType.INT64, JAVA_LONG, s -> s.toArray(JAVA_LONG));
    }

    public byte[] toByteArray() {
        return toArray(DType.UINT8, JAVA_BYTE, s -> s.toArray(JAVA_BYTE));
    }

    private <A> A toArray(DType expected, ValueLayout layout, java.util.function.Function<MemorySegment, A> read) {
        DType actual = dtype();
        if (actual != expected) {
            throw new IllegalStateException("tensor is " + actual + ", not " + expected + ": convert it first with to(DType." + expected + ")");
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment data = arena.allocate(layout, numel());
            copyTo(data);
            return read.apply(data);
        }
    }

    /** The value of a one-element tensor (waits for the device). */
    public double item() {
        return Native.readDouble((arena, out) -> sn_tensor_item(handle(), out));
    }

    // ---- queries --------------------------------------------------------------------------

    public int dim() {
        return Native.readInt((arena, out) -> sn_tensor_ndim(handle(), out));
    }

    public long[] shape() {
        int ndim = dim();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(JAVA_LONG, Math.max(ndim, 1));
            check(sn_tensor_shape(handle(), out, ndim));
            return ndim == 0 ? new long[0] : out.toArray(JAVA_LONG);
        }
    }

    public long size(int dim) {
        long[] shape = shape();
        return shape[dim < 0 ? shape.length + dim : dim];
    }

    public long numel() {
        return Native.readLong((arena, out) -> sn_tensor_numel(handle(), out));
    }

    public DType dtype() {
        return DType.ofCode(Native.readInt((arena, out) -> sn_tensor_dtype(handle(), out)));
    }

    public Device device() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment type = arena.allocate(JAVA_INT);
            MemorySegment index = arena.allocate(JAVA_INT);
            check(sn_tensor_device(handle(), type, index));
            return Device.ofCodes(type.get(JAVA_INT, 0), index.get(JAVA_INT, 0));
        }
    }

    /** Whether the strides are those of {@code format} (CONTIGUOUS or CHANNELS_LAST). */
    public boolean isContiguous(MemoryFormat format) {
        return Native.readInt((arena, out) -> sn_tensor_is_contiguous(handle(), format.code(), out)) != 0;
    }

    // ---- autograd -------------------------------------------------------------------------

    public boolean requiresGrad() {
        return Native.readInt((arena, out) -> sn_tensor_requires_grad(handle(), out)) != 0;
    }

    /** Sets requires_grad on a leaf tensor; returns this. */
    public Tensor requiresGrad(boolean requiresGrad) {
        check(sn_tensor_set_requires_grad(handle(), requiresGrad ? 1 : 0));
        return this;
    }

    /** The accumulated gradient (a new handle sharing its storage), or null when there is none. */
    public Tensor grad() {
        return own(Native.handle((arena, out) -> sn_tensor_grad(handle(), out)));
    }

    /** Drops the accumulated gradient (PyTorch's zero_grad(set_to_none=True)). */
    public void zeroGrad() {
        check(sn_tensor_zero_grad(handle()));
    }

    /** Back-propagates from this one-element tensor. */
    public void backward() {
        check(sn_backward(handle(), MemorySegment.NULL));
    }

    /** Back-propagates {@code gradOutput} (same shape as this tensor). */
    public void backward(Tensor gradOutput) {
        check(sn_backward(handle(), gradOutput.handle()));
    }

    // ---- arithmetic -----------------------------------------------------------------------

    public Tensor add(Tensor other) {
        return own(Native.handle((arena, out) -> sn_add(handle(), other.handle(), out)));
    }

    public Tensor sub(Tensor other) {
        return own(Native.handle((arena, out) -> sn_sub(handle(), other.handle(), out)));
    }

    public Tensor mul(Tensor other) {
        return own(Native.handle((arena, out) -> sn_mul(handle(), other.handle(), out)));
    }

    /** this += other, in place; returns this. */
    public Tensor addInPlace(Tensor other) {
        check(sn_add_(handle(), other.handle()));
        return this;
    }

    /** this += value, in place; returns this. */
    public Tensor addInPlace(double value) {
        check(sn_add_scalar_(handle(), value));
        return this;
    }

    public Tensor add(double value) {
        return own(Native.handle((arena, out) -> sn_add_scalar(handle(), value, out)));
    }

    public Tensor mul(double value) {
        return own(Native.handle((arena, out) -> sn_mul_scalar(handle(), value, out)));
    }

    public Tensor sum() {
        return own(Native.handle((arena, out) -> sn_sum(handle(), out)));
    }

    public Tensor mean() {
        return own(Native.handle((arena, out) -> sn_mean(handle(), out)));
    }

    public Tensor relu() {
        return own(Native.handle((arena, out) -> sn_relu(handle(), out)));
    }

    /** ReLU in place; returns this. */
    public Tensor reluInPlace() {
        check(sn_relu_(handle()));
        return this;
    }

    @Override
    public String toString() {
        if (isClosed()) return "Tensor(closed)";
        return "Tensor(shape=" + Arrays.toString(shape()) + ", dtype=" + dtype() + ", device=" + device() + ")";
    }
}
