package dev.shakenet.train;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

/** Dynamic loss scaling follows GradScaler's defaults. */
class LossScalerTest {
    @Test
    void halvesAndSkipsOnOverflowDoublesAfter2000CleanSteps() {
        LossScaler s = new LossScaler();
        assertEquals(65536.0, s.scale());
        assertFalse(s.update(true), "an overflowing step is skipped");
        assertEquals(32768.0, s.scale());
        for (int i = 0; i < 1999; i++) assertTrue(s.update(false));
        assertEquals(32768.0, s.scale());
        assertTrue(s.update(false));
        assertEquals(65536.0, s.scale(), "doubled after 2000 clean steps");
        s.update(false);
        double[] state = s.state();
        LossScaler restored = new LossScaler();
        restored.restore(state);
        assertArrayEquals(state, restored.state());
    }
}
