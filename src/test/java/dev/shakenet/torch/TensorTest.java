package dev.shakenet.torch;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Creation from and copies back to host memory, constants, conversions and queries. */
class TensorTest {
    private TensorScope scope;

    @BeforeEach
    void open() {
        scope = TensorScope.open();
    }

    @AfterEach
    void close() {
        scope.close();
    }

    @Test
    void float32RoundTripKeepsValuesAndShape() {
        float[] data = {1.5f, -2f, 3.25f, 0f, 1e-30f, Float.MAX_VALUE};
        Tensor t = Tensor.fromFloats(data, 2, 3);
        assertArrayEquals(new long[] {2, 3}, t.shape());
        assertEquals(2, t.dim());
        assertEquals(6, t.numel());
        assertEquals(DType.FLOAT32, t.dtype());
        assertEquals(Device.CPU, t.device());
        assertArrayEquals(data, t.toFloatArray());
    }

    @Test
    void uint8RoundTripKeepsAllByteValues() {
        byte[] data = new byte[256];
        for (int i = 0; i < 256; i++) data[i] = (byte) i;
        Tensor t = Tensor.fromBytes(data, 4, 8, 8);
        assertEquals(DType.UINT8, t.dtype());
        assertArrayEquals(data, t.toByteArray());
        // uint8 255 converts to 255.0, not -1: the bytes are unsigned on the native side.
        float[] asFloat = t.to(DType.FLOAT32).toFloatArray();
        assertEquals(255f, asFloat[255]);
        assertEquals(128f, asFloat[128]);
    }

    @Test
    void int64AndFloat64RoundTrip() {
        long[] longs = {Long.MIN_VALUE, -1, 0, 7, Long.MAX_VALUE};
        assertArrayEquals(longs, Tensor.fromLongs(longs, 5).toLongArray());
        double[] doubles = {Math.PI, -Math.E, 1e-300};
        assertArrayEquals(doubles, Tensor.fromDoubles(doubles, 3).toDoubleArray());
    }

    @Test
    void scalarTensorHasNoDimensions() {
        Tensor t = Tensor.fromDoubles(new double[] {42.5});
        assertEquals(0, t.dim());
        assertArrayEquals(new long[0], t.shape());
        assertEquals(42.5, t.item());
    }

    @Test
    void zerosOnesFullHaveTheirValues() {
        assertArrayEquals(new float[6], Tensor.zeros(DType.FLOAT32, Device.CPU, 2, 3).toFloatArray());
        assertArrayEquals(new double[] {1, 1, 1, 1}, Tensor.ones(DType.FLOAT64, Device.CPU, 4).toDoubleArray());
        Tensor full = Tensor.full(-7.5, DType.FLOAT32, Device.CPU, 2, 2, 2);
        assertArrayEquals(new long[] {2, 2, 2}, full.shape());
        for (float v : full.toFloatArray()) assertEquals(-7.5f, v);
    }

    @Test
    void dtypeConversionRoundsToBfloat16() {
        // bfloat16 keeps 8 significant bits: 1 + 2^-8 is halfway and rounds to even (1.0);
        // 1 + 3*2^-8 rounds up to 1 + 2^-6; 257 rounds to 256.
        Tensor t = Tensor.fromFloats(new float[] {1f + 1f / 256, 1f + 3f / 256, 257f}, 3);
        Tensor bf = t.to(DType.BFLOAT16);
        assertEquals(DType.BFLOAT16, bf.dtype());
        assertArrayEquals(new float[] {1f, 1f + 1f / 64, 256f}, bf.to(DType.FLOAT32).toFloatArray());
        assertEquals(DType.INT64, Tensor.fromFloats(new float[] {2.9f, -2.9f}, 2).to(DType.INT64).dtype());
        assertArrayEquals(new long[] {2, -2}, Tensor.fromFloats(new float[] {2.9f, -2.9f}, 2).to(DType.INT64).toLongArray());
    }

    @Test
    void channelsLastChangesStridesNotValues() {
        float[] data = new float[2 * 3 * 4 * 5];
        for (int i = 0; i < data.length; i++) data[i] = i;
        Tensor t = Tensor.fromFloats(data, 2, 3, 4, 5);
        assertTrue(t.isContiguous(MemoryFormat.CONTIGUOUS));
        assertFalse(t.isContiguous(MemoryFormat.CHANNELS_LAST));
        Tensor nhwc = t.to(MemoryFormat.CHANNELS_LAST);
        assertTrue(nhwc.isContiguous(MemoryFormat.CHANNELS_LAST));
        assertFalse(nhwc.isContiguous(MemoryFormat.CONTIGUOUS));
        assertArrayEquals(new long[] {2, 3, 4, 5}, nhwc.shape());
        assertArrayEquals(data, nhwc.toFloatArray()); // read back in logical (NCHW) order
        assertTrue(nhwc.to(MemoryFormat.CONTIGUOUS).isContiguous(MemoryFormat.CONTIGUOUS));
    }

    @Test
    void toTheSameDeviceAndCpuDeviceParsing() {
        Tensor t = Tensor.fromFloats(new float[] {1, 2}, 2);
        assertEquals(Device.CPU, t.to(Device.CPU).device());
        assertEquals(Device.CPU, Device.parse("cpu"));
        assertEquals(Device.cuda(1), Device.parse("cuda:1"));
        assertEquals("cuda:3", Device.cuda(3).toString());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Device.parse("gpu0"));
        assertTrue(e.getMessage().contains("cpu, cuda or cuda:N"), e.getMessage());
    }

    @Test
    void reshapeCopyDetachAndCopyFrom() {
        Tensor t = Tensor.fromFloats(new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
        assertArrayEquals(new long[] {3, 2}, t.reshape(3, 2).shape());
        assertArrayEquals(new long[] {6}, t.reshape(-1).shape());
        Tensor copy = t.copy();
        Tensor view = t.detach();
        t.copyFrom(Tensor.zeros(DType.FLOAT32, Device.CPU, 2, 3));
        assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, copy.toFloatArray(), "clone owns its storage");
        assertArrayEquals(new float[6], view.toFloatArray(), "detach shares storage");
    }

    @Test
    void wrongArrayTypeIsExplained() {
        Tensor t = Tensor.fromDoubles(new double[] {1}, 1);
        IllegalStateException e = assertThrows(IllegalStateException.class, t::toFloatArray);
        assertTrue(e.getMessage().contains("to(DType.FLOAT32)"), e.getMessage());
    }
}
