package dev.shakenet.torch;

import static org.junit.jupiter.api.Assertions.*;

import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Bad input becomes a TorchException with the native message, and the JVM keeps working. */
class ErrorsTest {
    private TensorScope scope;

    @BeforeEach
    void open() {
        scope = TensorScope.open();
    }

    @AfterEach
    void close() {
        scope.close();
    }

    /** A call that must still work after an error. */
    private static void stillWorks() {
        Tensor x = Tensor.fromFloats(new float[] {1, 2}, 2);
        assertArrayEquals(new float[] {2, 4}, x.add(x).toFloatArray());
    }

    @Test
    void mismatchedConvShapesCarryLibtorchsMessage() {
        Tensor input = Tensor.zeros(DType.FLOAT32, Device.CPU, 1, 3, 8, 8);
        Tensor weight = Tensor.zeros(DType.FLOAT32, Device.CPU, 4, 2, 3, 3);
        TorchException e = assertThrows(TorchException.class, () -> Functional.conv2d(input, weight, null, 1, 1));
        assertEquals(TorchException.Kind.TORCH, e.kind());
        assertTrue(e.getMessage().startsWith("sn_conv2d: "), e.getMessage());
        assertTrue(e.getMessage().contains("expected input[1, 3, 8, 8] to have 2 channels"), e.getMessage());
        assertFalse(e.getMessage().contains("Exception raised from"), "no C++ backtrace in the message");
        stillWorks();
    }

    @Test
    void wrongDtypesAreRejected() {
        Tensor input = Tensor.zeros(DType.FLOAT64, Device.CPU, 1, 1, 4, 4);
        Tensor weight = Tensor.zeros(DType.FLOAT32, Device.CPU, 1, 1, 3, 3);
        TorchException conv = assertThrows(TorchException.class, () -> Functional.conv2d(input, weight, null, 1, 1));
        assertTrue(conv.getMessage().toLowerCase().contains("double") && conv.getMessage().toLowerCase().contains("float"), conv.getMessage());

        Tensor logits = Tensor.zeros(DType.FLOAT32, Device.CPU, 2, 3);
        Tensor floatTargets = Tensor.zeros(DType.FLOAT32, Device.CPU, 2);
        TorchException ce = assertThrows(TorchException.class, () -> Functional.crossEntropy(logits, floatTargets));
        assertEquals(TorchException.Kind.INVALID_ARGUMENT, ce.kind());
        assertTrue(ce.getMessage().contains("targets must be int64"), ce.getMessage());

        Tensor outOfRange = Tensor.fromLongs(new long[] {0, 3}, 2);
        TorchException range = assertThrows(TorchException.class, () -> Functional.crossEntropy(logits, outOfRange));
        assertTrue(range.getMessage().contains("out of bounds"), range.getMessage());
        stillWorks();
    }

    @Test
    void useAfterCloseIsReportedNotACrash() {
        Tensor t = Tensor.fromFloats(new float[] {1, 2, 3}, 3);
        t.close();
        assertTrue(t.isClosed());
        t.close(); // idempotent
        TorchException e = assertThrows(TorchException.class, () -> t.add(t));
        assertEquals(TorchException.Kind.INVALID_ARGUMENT, e.kind());
        assertTrue(e.getMessage().contains("freed"), e.getMessage());
        assertThrows(TorchException.class, t::shape);
        assertEquals("Tensor(closed)", t.toString());
        stillWorks();
    }

    @Test
    void badShapesSizesAndEnumsAreRejected() {
        TorchException negative = assertThrows(TorchException.class, () -> Tensor.zeros(DType.FLOAT32, Device.CPU, 2, -3));
        assertTrue(negative.getMessage().contains("negative"), negative.getMessage());
        Tensor t = Tensor.fromFloats(new float[] {1, 2, 3, 4}, 4);
        TorchException reshape = assertThrows(TorchException.class, () -> t.reshape(3));
        assertTrue(reshape.getMessage().contains("invalid for input of size 4"), reshape.getMessage());
        TorchException channelsLast = assertThrows(TorchException.class, () -> t.to(MemoryFormat.CHANNELS_LAST));
        assertTrue(channelsLast.getMessage().contains("4-d"), channelsLast.getMessage());
        TorchException backward = assertThrows(TorchException.class, () -> t.sum().backward());
        assertTrue(backward.getMessage().contains("does not require grad"), backward.getMessage());
        TorchException threads = assertThrows(TorchException.class, () -> Torch.setNumThreads(0));
        assertTrue(threads.getMessage().contains("at least 1"), threads.getMessage());
        stillWorks();
    }

    @Test
    void missingCudaIsAClearErrorWhenThereIsNone() {
        org.junit.jupiter.api.Assumptions.assumeTrue(Torch.cudaDeviceCount() == 0, "a CUDA device is present; CudaTest covers it");
        TorchException e = assertThrows(TorchException.class, () -> Tensor.zeros(DType.FLOAT32, Device.cuda(0), 2));
        assertFalse(e.getMessage().isBlank());
        TorchException memory = assertThrows(TorchException.class, () -> Torch.cudaMemory(0));
        assertFalse(memory.getMessage().isBlank()); // "built against a CPU-only libtorch" here
        Torch.synchronize(Device.CPU); // nothing to wait for
        stillWorks();
    }

    @Test
    void theLastErrorBelongsToTheFailingThread() throws Exception {
        // A failure on another thread leaves this thread's message alone, and vice versa.
        Tensor t = Tensor.fromFloats(new float[] {1, 2, 3, 4}, 4);
        TorchException mine = assertThrows(TorchException.class, () -> t.reshape(3));
        AtomicReference<String> other = new AtomicReference<>();
        Thread thread = new Thread(() -> {
            try {
                Tensor.zeros(DType.FLOAT32, Device.CPU, -1);
            } catch (TorchException e) {
                other.set(e.getMessage());
            }
        });
        thread.start();
        thread.join();
        assertTrue(other.get().contains("negative"), other.get());
        assertTrue(mine.getMessage().contains("invalid for input of size 4"));
        stillWorks();
    }
}
