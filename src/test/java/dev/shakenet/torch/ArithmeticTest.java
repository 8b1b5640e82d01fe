package dev.shakenet.torch;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Element-wise arithmetic, reductions, concatenation and ReLU against hand-computed values. */
class ArithmeticTest {
    private TensorScope scope;

    @BeforeEach
    void open() {
        scope = TensorScope.open();
    }

    @AfterEach
    void close() {
        scope.close();
    }

    private static Tensor t(double... v) {
        return Tensor.fromDoubles(v, v.length);
    }

    @Test
    void binaryOpsAndScalars() {
        Tensor a = t(1, -2, 3.5), b = t(4, 0.5, -1);
        assertArrayEquals(new double[] {5, -1.5, 2.5}, a.add(b).toDoubleArray());
        assertArrayEquals(new double[] {-3, -2.5, 4.5}, a.sub(b).toDoubleArray());
        assertArrayEquals(new double[] {4, -1, -3.5}, a.mul(b).toDoubleArray());
        assertArrayEquals(new double[] {11, 8, 13.5}, a.add(10).toDoubleArray());
        assertArrayEquals(new double[] {-2, 4, -7}, a.mul(-2).toDoubleArray());
        a.addInPlace(b);
        assertArrayEquals(new double[] {5, -1.5, 2.5}, a.toDoubleArray());
    }

    @Test
    void broadcastingFollowsNumpyRules() {
        Tensor m = Tensor.fromDoubles(new double[] {1, 2, 3, 4, 5, 6}, 2, 3);
        Tensor row = Tensor.fromDoubles(new double[] {10, 20, 30}, 3);
        Tensor col = Tensor.fromDoubles(new double[] {100, 200}, 2, 1);
        assertArrayEquals(new double[] {11, 22, 33, 14, 25, 36}, m.add(row).toDoubleArray());
        assertArrayEquals(new double[] {100, 200, 300, 800, 1000, 1200}, m.mul(col).toDoubleArray());
    }

    @Test
    void reductions() {
        Tensor m = Tensor.fromDoubles(new double[] {1, 2, 3, 4, 5, 6}, 2, 3);
        assertEquals(21, m.sum().item());
        assertEquals(3.5, m.mean().item());
    }

    @Test
    void reluAndInPlaceRelu() {
        Tensor a = t(-1, 0, 2.5, -0.1);
        assertArrayEquals(new double[] {0, 0, 2.5, 0}, a.relu().toDoubleArray());
        assertArrayEquals(new double[] {-1, 0, 2.5, -0.1}, a.toDoubleArray(), "relu() leaves its input alone");
        a.reluInPlace();
        assertArrayEquals(new double[] {0, 0, 2.5, 0}, a.toDoubleArray());
    }

    @Test
    void catAlongEachDimension() {
        Tensor a = Tensor.fromDoubles(new double[] {1, 2, 3, 4}, 2, 2);
        Tensor b = Tensor.fromDoubles(new double[] {5, 6}, 1, 2);
        Tensor rows = Functional.cat(List.of(a, b), 0);
        assertArrayEquals(new long[] {3, 2}, rows.shape());
        assertArrayEquals(new double[] {1, 2, 3, 4, 5, 6}, rows.toDoubleArray());
        Tensor c = Tensor.fromDoubles(new double[] {7, 8}, 2, 1);
        Tensor cols = Functional.cat(List.of(a, c), 1);
        assertArrayEquals(new double[] {1, 2, 7, 3, 4, 8}, cols.toDoubleArray());
    }
}
