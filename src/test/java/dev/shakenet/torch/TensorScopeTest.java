package dev.shakenet.torch;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

/** Scopes free what was created inside them, deterministically, and nothing else. */
class TensorScopeTest {
    @Test
    void closingAScopeClosesEverythingCreatedInIt() {
        Tensor a, b, c;
        try (TensorScope scope = TensorScope.open()) {
            a = Tensor.zeros(DType.FLOAT32, Device.CPU, 3);
            b = a.add(1);
            c = b.relu();
            assertEquals(3, scope.size());
        }
        assertTrue(a.isClosed() && b.isClosed() && c.isClosed());
    }

    @Test
    void keepMovesATensorToTheEnclosingScope() {
        try (TensorScope outer = TensorScope.open()) {
            Tensor kept, dropped;
            try (TensorScope inner = TensorScope.open()) {
                dropped = Tensor.ones(DType.FLOAT32, Device.CPU, 2);
                kept = inner.keep(dropped.mul(5));
            }
            assertTrue(dropped.isClosed());
            assertFalse(kept.isClosed());
            assertArrayEquals(new float[] {5, 5}, kept.toFloatArray());
            assertEquals(1, outer.size());
        }
    }

    @Test
    void keepingOutOfTheOutermostScopeHandsOwnershipToTheCaller() {
        Tensor kept;
        try (TensorScope scope = TensorScope.open()) {
            kept = scope.keep(Tensor.ones(DType.FLOAT32, Device.CPU, 1));
        }
        assertFalse(kept.isClosed());
        kept.close();
        assertTrue(kept.isClosed());
    }

    @Test
    void tensorsCreatedOutsideAnyScopeBelongToTheCaller() {
        Tensor free = Tensor.ones(DType.FLOAT32, Device.CPU, 1);
        try (TensorScope scope = TensorScope.open()) {
            assertEquals(0, scope.size());
        }
        assertFalse(free.isClosed());
        free.close();
    }

    @Test
    void explicitlyClosedTensorsAreNotClosedTwice() {
        try (TensorScope scope = TensorScope.open()) {
            Tensor a = Tensor.ones(DType.FLOAT32, Device.CPU, 1);
            Tensor b = Tensor.ones(DType.FLOAT32, Device.CPU, 1);
            a.close(); // not the newest: stays listed, skipped at scope close
            b.close();
            assertEquals(0, scope.size());
        }
    }

    @Test
    void scopesMustCloseInnermostFirst() {
        TensorScope outer = TensorScope.open();
        TensorScope inner = TensorScope.open();
        Tensor t = Tensor.ones(DType.FLOAT32, Device.CPU, 1);
        IllegalStateException e = assertThrows(IllegalStateException.class, outer::close);
        assertTrue(e.getMessage().contains("innermost first"));
        inner.close();
        assertTrue(t.isClosed());
    }

    @Test
    void keepRejectsAForeignTensor() {
        try (TensorScope scope = TensorScope.open()) {
            Tensor mine = Tensor.ones(DType.FLOAT32, Device.CPU, 1);
            try (TensorScope inner = TensorScope.open()) {
                assertThrows(IllegalArgumentException.class, () -> inner.keep(mine));
            }
        }
    }
}
