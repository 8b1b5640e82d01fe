package dev.shakenet.torch;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

/** Autocast regions: convolutions and matrix products in bfloat16 inside, float32 outside, parameters untouched. */
class AutocastTest {
    @Test
    void convolutionsRunInBfloat16InsideTheRegionOnly() {
        try (TensorScope scope = TensorScope.open()) {
            Tensor x = Tensor.randn(0, 1, DType.FLOAT32, Device.CPU, null, 2, 3, 8, 8);
            Tensor w = Tensor.randn(0, 1, DType.FLOAT32, Device.CPU, null, 4, 3, 3, 3).requiresGrad(true);
            Tensor inside;
            try (Autocast amp = Autocast.enter(Device.CPU, DType.BFLOAT16)) {
                inside = Functional.conv2d(x, w, null, 1, 1);
                Tensor lin = Functional.linear(Tensor.randn(0, 1, DType.FLOAT32, Device.CPU, null, 2, 5),
                        Tensor.randn(0, 1, DType.FLOAT32, Device.CPU, null, 3, 5), null);
                assertEquals(DType.BFLOAT16, lin.dtype(), "matrix products too");
            }
            assertEquals(DType.BFLOAT16, inside.dtype());
            assertEquals(DType.FLOAT32, Functional.conv2d(x, w, null, 1, 1).dtype(), "after the region: float32 again");
            assertEquals(DType.FLOAT32, w.dtype(), "the parameter itself stays float32");
            // The bf16 result is the float32 one to bf16 precision (8 significant bits).
            float[] exact = Functional.conv2d(x, w, null, 1, 1).toFloatArray();
            float[] low = inside.to(DType.FLOAT32).toFloatArray();
            for (int i = 0; i < exact.length; i++) assertEquals(exact[i], low[i], 0.05 * (1 + Math.abs(exact[i])), "element " + i);
            // Gradients flow back to the float32 parameter.
            inside.to(DType.FLOAT32).sum().backward();
            assertEquals(DType.FLOAT32, w.grad().dtype());
        }
    }

    @Test
    void regionsNestAndANoneRegionDoesNothing() {
        try (TensorScope scope = TensorScope.open()) {
            Tensor x = Tensor.randn(0, 1, DType.FLOAT32, Device.CPU, null, 1, 2, 4, 4);
            Tensor w = Tensor.randn(0, 1, DType.FLOAT32, Device.CPU, null, 2, 2, 1, 1);
            try (Autocast none = Autocast.enter(Device.CPU, null)) {
                assertEquals(DType.FLOAT32, Functional.conv2d(x, w, null, 1, 0).dtype());
            }
            try (Autocast outer = Autocast.enter(Device.CPU, DType.BFLOAT16)) {
                try (Autocast inner = Autocast.enter(Device.CPU, DType.BFLOAT16)) {
                    assertEquals(DType.BFLOAT16, Functional.conv2d(x, w, null, 1, 0).dtype());
                }
                assertEquals(DType.BFLOAT16, Functional.conv2d(x, w, null, 1, 0).dtype(), "still inside the outer region");
            }
            assertEquals(DType.FLOAT32, Functional.conv2d(x, w, null, 1, 0).dtype());
        }
    }

    @Test
    void float16OnTheCpuIsRefused() {
        TorchException e = assertThrows(TorchException.class, () -> Autocast.enter(Device.CPU, DType.FLOAT16));
        assertTrue(e.getMessage().contains("bfloat16 only"), e.getMessage());
    }

    @Test
    void unscalingGradientsFindsOverflow() {
        try (TensorScope scope = TensorScope.open()) {
            Tensor a = Tensor.fromDoubles(new double[] {1, 2}, 2).requiresGrad(true);
            Tensor b = Tensor.fromDoubles(new double[] {3}, 1).requiresGrad(true);
            a.mul(8).sum().add(b.mul(4).sum()).backward();
            assertFalse(ParameterUpdates.unscaleGradients(java.util.List.of(a, b), 0.25));
            assertArrayEquals(new double[] {2, 2}, a.grad().toDoubleArray());
            assertArrayEquals(new double[] {1}, b.grad().toDoubleArray());
            b.zeroGrad();
            b.mul(Double.POSITIVE_INFINITY).sum().backward();
            assertTrue(ParameterUpdates.unscaleGradients(java.util.List.of(a, b), 0.5), "an inf gradient is found");
        }
    }
}
