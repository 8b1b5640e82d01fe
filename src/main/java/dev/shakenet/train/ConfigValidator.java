package dev.shakenet.train;

import dev.shakenet.torch.Device;
import dev.shakenet.torch.MemoryFormat;
import dev.shakenet.torch.ShakeShake;
import java.util.ArrayList;
import java.util.List;

/** The value rules of a {@link RunConfig}, all checked at once so one run of the command lists every problem. */
final class ConfigValidator {
    private final List<ConfigProblem> problems = new ArrayList<>();

    private ConfigValidator() {}

    /** Every rule {@code c} breaks, in the order the rules are checked. */
    static List<ConfigProblem> problems(RunConfig c) {
        ConfigValidator v = new ConfigValidator();
        v.check(c);
        return v.problems;
    }

    private void require(boolean ok, String key, String rule, Object value) {
        if (!ok) problems.add(new ConfigProblem(key, key + ": " + rule + ", got " + value));
    }

    private void check(RunConfig c) {
        require(c.name() != null && c.name().matches("[A-Za-z0-9._-]+"), "name", "must be letters, digits, '.', '_' or '-' (it names the run folder)", c.name());
        RunConfig.Model m = c.model();
        switch (m.family()) {
            case SHAKE_RESNET -> {
                require(m.depth() >= 8 && (m.depth() - 2) % 6 == 0, "model.depth", "must be 6n+2 with n >= 1 (8, 14, 20, 26, 32, ...)", m.depth());
                require(m.width() >= 2 && m.width() % 2 == 0, "model.width", "must be even and >= 2 (the paper uses 32, 64, 96)", m.width());
            }
            case SHAKE_RESNEXT -> {
                require(m.depth() == 29, "model.depth", "must be 29 for shake_resnext (ResNeXt-29: 3 stages of 3 bottleneck blocks)", m.depth());
                require(m.width() >= 1, "model.width", "must be >= 1 for shake_resnext (channels per group; the paper's 2x4x64d has 64)", m.width());
                require(m.cardinality() >= 1, "model.cardinality", "must be >= 1 (groups per branch; the paper's 2x4x64d has 4)", m.cardinality());
                require(m.stemWidth() >= 1, "model.stem_width", "must be >= 1 (the stem's channels; stages output 4x, 8x, 16x it; 64 in the paper)", m.stemWidth());
            }
            case PYRAMIDNET -> {
                int per = m.bottleneck() ? 9 : 6;
                require(m.depth() >= per + 2 && (m.depth() - 2) % per == 0, "model.depth",
                        "must be " + per + "n+2 for a " + (m.bottleneck() ? "bottleneck" : "basic") + " pyramidnet (110 basic, 272 bottleneck in the papers)", m.depth());
                require(m.alpha() > 0, "model.alpha", "must be > 0 (the widening over all blocks; 270 and 200 in the papers)", m.alpha());
            }
        }
        require(m.shakeForward() != ShakeShake.Mode.KEEP, "model.shake_forward", "must be shake or even (keep is a backward mode)", "keep");

        RunConfig.Optimizer o = c.optimizer();
        require(o.lr() > 0, "optimizer.lr", "must be > 0", o.lr());
        require(o.momentum() >= 0 && o.momentum() < 1, "optimizer.momentum", "must be in [0, 1)", o.momentum());
        require(o.dampening() >= 0 && o.dampening() <= 1, "optimizer.dampening", "must be in [0, 1]", o.dampening());
        require(o.weightDecay() >= 0, "optimizer.weight_decay", "must be >= 0", o.weightDecay());
        require(!o.nesterov() || (o.momentum() > 0 && o.dampening() == 0), "optimizer.nesterov",
                "needs momentum > 0 and dampening 0 (as in torch.optim.SGD)", "true with momentum " + o.momentum() + ", dampening " + o.dampening());

        RunConfig.Schedule s = c.schedule();
        if (s.type() == RunConfig.ScheduleType.MULTISTEP) {
            boolean increasing = s.milestones() != null && !s.milestones().isEmpty() && s.milestones().getFirst() != null && s.milestones().getFirst() >= 1;
            for (int i = 1; increasing && i < s.milestones().size(); i++) {
                increasing = s.milestones().get(i) != null && s.milestones().get(i) > s.milestones().get(i - 1);
            }
            require(increasing, "schedule.milestones", "must be a list of increasing epochs >= 1 for multistep, e.g. [150, 225]", s.milestones());
            require(s.gamma() > 0, "schedule.gamma", "must be > 0 (the factor at each milestone, 0.1 in most recipes)", s.gamma());
        }
        if (s.type() == RunConfig.ScheduleType.COSINE_ANNEALING_LR) {
            require(s.tMax() != null && s.tMax() >= 1, "schedule.t_max", "must be an integer >= 1 for cosine_annealing_lr (epochs per half period)", s.tMax());
        }
        require(s.etaMin() >= 0 && s.etaMin() < o.lr(), "schedule.eta_min", "must be >= 0 and below optimizer.lr (" + o.lr() + ")", s.etaMin());
        require(s.warmupEpochs() >= 0 && s.warmupEpochs() < c.epochs(), "schedule.warmup_epochs", "must be >= 0 and below epochs (" + c.epochs() + ")", s.warmupEpochs());

        require(c.epochs() >= 1, "epochs", "must be >= 1", c.epochs());
        require(c.batchSize() >= 2, "batch_size", "must be >= 2 (batch norm needs two images)", c.batchSize());
        require(c.evalBatchSize() >= 1, "eval_batch_size", "must be >= 1", c.evalBatchSize());

        RunConfig.Data d = c.data();
        require(d.path() != null && !d.path().isBlank(), "data.path", "must name a folder or archive", d.path());
        require(d.trainLimit() == 0 || d.trainLimit() >= 2, "data.train_limit", "must be 0 (all) or >= 2", d.trainLimit());
        require(d.testLimit() >= 0, "data.test_limit", "must be 0 (all) or more", d.testLimit());
        require(d.cutout() >= 0 && d.cutout() <= 32, "data.cutout", "must be 0 (off) or a patch side of 1..32 pixels", d.cutout());
        require(d.dataset() == RunConfig.Dataset.CIFAR100 || d.labels() == RunConfig.Labels.FINE, "data.labels",
                "must be fine with data.dataset cifar10 (coarse labels are CIFAR-100's 20 superclasses)", "coarse");

        if (!"auto".equals(c.device())) {
            try {
                Device.parse(c.device() == null ? "" : c.device());
            } catch (IllegalArgumentException e) {
                problems.add(new ConfigProblem("device", "device: must be auto, cpu, cuda or cuda:N, got " + c.device()));
            }
        }
        require(c.memoryFormat() != MemoryFormat.PRESERVE, "memory_format", "must be contiguous or channels_last", "preserve");
        require(c.threads() >= 0, "threads", "must be >= 0 (0: one per core)", c.threads());
        require(c.output() == null || !c.output().isBlank(), "output", "must be a folder path, or null for runs/<name>-<time>", "\"" + c.output() + "\"");
        require(c.evalInterval() >= 1, "eval_interval", "must be >= 1 (epochs between test evaluations)", c.evalInterval());
        require(c.logInterval() >= 1, "log_interval", "must be >= 1 (steps between progress lines)", c.logInterval());
        require(c.checkpoint().interval() >= 1, "checkpoint.interval", "must be >= 1 (epochs between checkpoints)", c.checkpoint().interval());
        require(c.checkpoint().keepLast() >= 1, "checkpoint.keep_last", "must be >= 1 (the newest checkpoint is what a resume needs)", c.checkpoint().keepLast());
        require(c.nonfinitePatience() >= 1, "nonfinite_patience", "must be >= 1 (skipped steps in a row before the run stops)", c.nonfinitePatience());
        RunConfig.Distributed dist = c.distributed();
        require(dist.timeoutSeconds() > 0, "distributed.timeout_seconds", "must be > 0 (how long a collective may wait for the other ranks)", dist.timeoutSeconds());
        require(dist.bucketMb() > 0, "distributed.bucket_mb", "must be > 0 (the size of the buckets gradients are averaged in)", dist.bucketMb());
        require(dist.masterAddr() == null || !dist.masterAddr().isBlank(), "distributed.master_addr", "must be a host name or address, or null", "\"" + dist.masterAddr() + "\"");
        require(dist.masterPort() >= 1 && dist.masterPort() <= 65535, "distributed.master_port", "must be a TCP port, 1..65535", dist.masterPort());
        require(m.initFrom() == null || !m.initFrom().isBlank(), "model.init_from", "must be a weights file path, or null", "\"" + m.initFrom() + "\"");
    }
}
