package dev.shakenet.train;

import dev.shakenet.optim.CosineAnnealingLr;
import dev.shakenet.optim.LrSchedule;

/** The learning-rate schedule a config asks for. */
final class Schedules {
    private Schedules() {}

    static LrSchedule of(RunConfig config, int stepsPerEpoch) {
        RunConfig.Schedule s = config.schedule();
        double base = config.optimizer().lr();
        long totalSteps = (long) config.epochs() * stepsPerEpoch;
        LrSchedule schedule = switch (s.type()) {
            case COSINE -> new LrSchedule.Cosine(base, s.etaMin(), totalSteps);
            case COSINE_ANNEALING_LR -> new CosineAnnealingLr(base, s.tMax(), s.etaMin());
            case MULTISTEP -> new LrSchedule.MultiStep(base, s.milestones(), s.gamma());
            case CONSTANT -> new LrSchedule.Constant(base);
        };
        long warmupSteps = Math.round(s.warmupEpochs() * stepsPerEpoch);
        return warmupSteps > 0 ? new LrSchedule.Warmup(schedule, warmupSteps) : schedule;
    }
}
