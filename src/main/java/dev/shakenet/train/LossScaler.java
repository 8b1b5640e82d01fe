package dev.shakenet.train;

/**
 * Dynamic loss scaling for float16 training, with torch.cuda.amp.GradScaler's defaults: start at
 * 2^16, halve and skip the step when a gradient overflows, double after 2000 clean steps.
 */
final class LossScaler {
    static final double INITIAL = 65536.0, GROWTH = 2.0, BACKOFF = 0.5;
    static final int GROWTH_INTERVAL = 2000;

    private double scale = INITIAL;
    private int cleanSteps;

    double scale() {
        return scale;
    }

    /** Records whether this step's gradients overflowed; returns whether the step may be applied. */
    boolean update(boolean overflow) {
        if (overflow) {
            scale *= BACKOFF;
            cleanSteps = 0;
            return false;
        }
        if (++cleanSteps == GROWTH_INTERVAL) {
            scale *= GROWTH;
            cleanSteps = 0;
        }
        return true;
    }

    double[] state() {
        return new double[] {scale, cleanSteps};
    }

    void restore(double[] state) {
        scale = state[0];
        cleanSteps = (int) state[1];
    }
}
