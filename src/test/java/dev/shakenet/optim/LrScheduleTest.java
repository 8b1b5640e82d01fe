package dev.shakenet.optim;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** Learning-rate schedules against their closed forms, and CosineAnnealingLR against PyTorch's own values. */
class LrScheduleTest {
    static double closedForm(double base, double etaMin, int tMax, double t) {
        return etaMin + (base - etaMin) * (1 + Math.cos(Math.PI * t / tMax)) / 2;
    }

    @Test
    void cosineAnnealingLrFollowsTheClosedFormBeyondTMax() {
        CosineAnnealingLr s = new CosineAnnealingLr(0.02, 50, 0.001);
        // PyTorch's recursion drifts from the closed form by rounding, ~1e-15 after 400 epochs.
        for (int e = 0; e < 400; e++) {
            assertEquals(closedForm(0.02, 0.001, 50, e), s.lr(0, e), 1e-14, "epoch " + e);
        }
        // Hand-checked points: start, the minimum at t_max, the midpoints, back up at 2 t_max.
        assertEquals(0.02, s.lr(0, 0), 0);
        assertEquals(0.0105, s.lr(0, 25), 1e-15);
        assertEquals(0.001, s.lr(0, 50), 1e-15);
        assertEquals(0.0105, s.lr(0, 75), 1e-15);
        assertEquals(0.02, s.lr(0, 100), 1e-15);
        assertEquals(0.001, s.lr(0, 150), 1e-15);
        assertTrue(s.lr(0, 60) > s.lr(0, 55), "past t_max the rate rises again");
        assertEquals(s.lr(0, 7), s.lr(123, 7), "stepped per epoch: the iteration does not matter");
    }

    @Test
    void cosineAnnealingLrMatchesPytorchValueForValue() throws IOException {
        // Recorded from Debian's python3-torch 1.13 (header of the resource file): 200 epochs of the seed recipe.
        CosineAnnealingLr s = new CosineAnnealingLr(0.02, 50, 0.001);
        String table;
        try (InputStream in = getClass().getResourceAsStream("pytorch_cosine_annealing_lr.csv")) {
            table = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        int rows = 0;
        for (String line : table.split("\n")) {
            if (line.startsWith("#") || line.startsWith("epoch") || line.isBlank()) continue;
            String[] f = line.split(",");
            int epoch = Integer.parseInt(f[0]);
            double pytorch = Double.parseDouble(f[1]);
            assertEquals(pytorch, s.lr(0, epoch), Math.ulp(pytorch) * 4, "epoch " + epoch);
            rows++;
        }
        assertEquals(200, rows);
    }

    @Test
    void papersPerIterationCosineGoesFromBaseToZero() {
        LrSchedule s = new LrSchedule.Cosine(0.2, 0.0, 1000);
        assertEquals(0.2, s.lr(0, 0), 0);
        assertEquals(0.1, s.lr(500, 3), 1e-15);
        assertEquals(0.2 * (1 + Math.cos(Math.PI * 0.25)) / 2, s.lr(250, 1), 1e-15);
        assertEquals(0.0, s.lr(1000, 9), 1e-15);
        for (int t = 1; t < 1000; t++) assertTrue(s.lr(t, 0) < s.lr(t - 1, 0), "strictly decreasing at " + t);
        assertEquals(0.01, new LrSchedule.Cosine(0.2, 0.01, 10).lr(10, 0), 1e-15, "ends at eta_min");
    }

    @Test
    void constantAndWarmup() {
        assertEquals(0.05, new LrSchedule.Constant(0.05).lr(12345, 17));
        LrSchedule w = new LrSchedule.Warmup(new LrSchedule.Constant(0.4), 4);
        assertEquals(0.1, w.lr(0, 0), 1e-15);
        assertEquals(0.2, w.lr(1, 0), 1e-15);
        assertEquals(0.4, w.lr(3, 0), 1e-15);
        assertEquals(0.4, w.lr(4, 0), 1e-15);
    }

    @Test
    void badTMaxIsRejected() {
        assertThrows(IllegalArgumentException.class, () -> new CosineAnnealingLr(0.1, 0, 0));
    }

    @Test
    void multiStepIsPytorchsMultiStepLrStepBeforeAndAfterEachMilestone() {
        // MultiStepLR(base 0.1, milestones [150, 225], gamma 0.1) after `epoch` scheduler steps: 0.1 * 0.1^(milestones <= epoch)
        LrSchedule s = new LrSchedule.MultiStep(0.1, java.util.List.of(150, 225), 0.1);
        assertEquals(0.1, s.lr(0, 0));
        assertEquals(0.1, s.lr(123_456, 149), "the rate ignores the step: it moves once an epoch");
        assertEquals(0.1 * 0.1, s.lr(0, 150));
        assertEquals(0.1 * 0.1, s.lr(0, 224));
        assertEquals(0.1 * Math.pow(0.1, 2), s.lr(0, 225));
        assertEquals(0.1 * Math.pow(0.1, 2), s.lr(0, 299));
        assertEquals(0.5 * 0.2, new LrSchedule.MultiStep(0.5, java.util.List.of(1), 0.2).lr(0, 1));
    }
}
