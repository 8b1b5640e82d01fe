package dev.shakenet.optim;

/**
 * A learning rate for every update. Per-iteration schedules read {@code step}; per-epoch ones
 * (PyTorch schedulers stepped once an epoch) read {@code epoch}.
 */
public sealed interface LrSchedule permits LrSchedule.Constant, LrSchedule.Cosine, LrSchedule.MultiStep, CosineAnnealingLr, LrSchedule.Warmup {

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

    /**
     * PyTorch's MultiStepLR stepped once an epoch: {@code base * gamma^k} with k the milestones
     * (epochs, increasing) at or before this epoch, e.g. the PyramidNet recipe's x0.1 at epochs
     * 150 and 225.
     */
    record MultiStep(double base, java.util.List<Integer> milestones, double gamma) implements LrSchedule {
        public MultiStep {
            milestones = java.util.List.copyOf(milestones);
        }

        @Override
        public double lr(long step, int epoch) {
            int passed = 0;
            for (int m : milestones) if (m <= epoch) passed++;
            return base * Math.pow(gamma, passed);
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
