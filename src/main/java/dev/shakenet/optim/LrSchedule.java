package dev.shakenet.optim;

/**
 * A learning rate for every update. Per-iteration schedules read {@code step}; per-epoch ones
 * (PyTorch schedulers stepped once an epoch) read {@code epoch}.
 */
public sealed interface LrSchedule permits LrSchedule.Constant, LrSchedule.Cosine, CosineAnnealingLr, LrSchedule.Warmup {

    /**
     * @param step updates done before this one (0-based, counted over the whole run)
     * @param epoch the epoch this update belongs to (0-based)
     */
    double lr(long step, int epoch);

    /** The same rate throughout. */
    record Constant(double lr) implements LrSchedule {
        @Override
        public double lr(long step, int epoch) {
            return lr;
        }
    }

    /**
     * The paper's schedule: cosine annealing without restarts, updated every iteration,
     * {@code etaMin + (base - etaMin) * (1 + cos(pi * t / T)) / 2} with t the updates done and T
     * all updates of the run, so it ends at etaMin (0 in the paper).
     */
    record Cosine(double base, double etaMin, long totalSteps) implements LrSchedule {
        public Cosine {
            if (totalSteps < 1) throw new IllegalArgumentException("total steps must be >= 1, got " + totalSteps);
        }

        @Override
        public double lr(long step, int epoch) {
            return etaMin + (base - etaMin) * (1 + Math.cos(Math.PI * step / totalSteps)) / 2;
        }
    }

    /** Linear warm-up over the first {@code steps} updates: the inner rate times (step+1)/steps. */
    record Warmup(LrSchedule inner, long steps) implements LrSchedule {
        @Override
        public double lr(long step, int epoch) {
            double rate = inner.lr(step, epoch);
            return step < steps ? rate * (step + 1) / steps : rate;
        }
    }
}
