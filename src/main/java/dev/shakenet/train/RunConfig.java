package dev.shakenet.train;

import dev.shakenet.data.CifarFormat;
import dev.shakenet.nn.Engine;
import dev.shakenet.torch.MemoryFormat;
import dev.shakenet.torch.ShakeShake;

/**
 * One training run, as read from its JSON file (keys in snake_case, as in the README). Every
 * field has a default ({@link #DEFAULTS}); a file gives only what it changes.
 */
public record RunConfig(
        String name,
        String description,
        Model model,
        Optimizer optimizer,
        Schedule schedule,
        int epochs,
        int batchSize,
        int evalBatchSize,
        Data data,
        String device,
        MemoryFormat memoryFormat,
        Precision precision,
        long seed,
        int threads,
        CpuAllocator cpuAllocator,
        Engine.Choice engine,
        String output,
        int evalInterval,
        int logInterval,
        Checkpointing checkpoint,
        NonFinitePolicy nonfinite,
        int nonfinitePatience,
        Distributed distributed,
        boolean tensorboard) {

    /**
     * The network: its family, depth and widths (Shake-Shake 2x{width}d; ResNeXt's cardinality and
     * channels per group in {@code width}; PyramidNet's widening {@code alpha} and block kind),
     * how Shake-Shake combines its branches, and optionally a weights file (PyTorch format, the
     * model's names) to start from instead of the paper's initialization.
     */
    public record Model(int depth, int width, ShakeShake.Mode shakeForward, ShakeShake.Mode shakeBackward,
                        ShakeShake.Level shakeLevel, String initFrom, Family family, int cardinality, double alpha, boolean bottleneck,
                        int stemWidth) {
        /** A config written before the families existed (an older checkpoint's) is Shake-Shake 2xKd. */
        public Model {
            if (family == null) family = Family.SHAKE_RESNET;
        }

        /** The network's name as papers write it, e.g. "Shake-Shake-26 2x32d" (logs, bench). */
        public String title() {
            return switch (family) {
                case SHAKE_RESNET -> "Shake-Shake-" + depth + " 2x" + width + "d";
                case SHAKE_RESNEXT -> "Shake-Shake ResNeXt-" + depth + " 2x" + cardinality + "x" + width + "d";
                case PYRAMIDNET -> "PyramidNet-" + depth + " (alpha " + new java.math.BigDecimal(alpha).stripTrailingZeros().toPlainString() + ", "
                        + (bottleneck ? "bottleneck" : "basic") + ") with ShakeDrop";
            };
        }

        /** The keys that fix the shapes of the parameters: a resume may not change them. */
        public String shape() {
            return switch (family) {
                case SHAKE_RESNET -> "depth " + depth + ", width " + width;
                case SHAKE_RESNEXT -> "shake_resnext, depth " + depth + ", cardinality " + cardinality + ", width " + width
                        + (stemWidth == 64 ? "" : ", stem width " + stemWidth);
                case PYRAMIDNET -> "pyramidnet, depth " + depth + ", alpha " + alpha + (bottleneck ? ", bottleneck" : ", basic");
            };
        }
    }

    /**
     * The network: Shake-Shake 2xKd ResNets (the paper's CIFAR-10 family), Shake-Shake ResNeXt
     * (the paper's CIFAR-100 network, 2 x cardinality x width d), or PyramidNet with ShakeDrop.
     */
    public enum Family { SHAKE_RESNET, SHAKE_RESNEXT, PYRAMIDNET }

    /** A checkpoint every {@code interval} epochs (and after the last); the newest {@code keepLast} kept, and the best. */
    public record Checkpointing(int interval, int keepLast, boolean keepBest) {}

    /** torch.optim.SGD's settings; lr is the base rate the schedule scales. */
    public record Optimizer(double lr, double momentum, double dampening, double weightDecay, boolean nesterov) {}

    /** How the learning rate moves over the run. */
    public record Schedule(ScheduleType type, Integer tMax, double etaMin, double warmupEpochs, java.util.List<Integer> milestones, double gamma) {}

    public enum ScheduleType {
        /** The paper's: cosine from lr to eta_min over all iterations, updated every iteration. */
        COSINE,
        /** PyTorch's CosineAnnealingLR with t_max, stepped once per epoch (rises again past t_max). */
        COSINE_ANNEALING_LR,
        /** PyTorch's MultiStepLR, stepped per epoch: times gamma at each of the milestones (epochs). */
        MULTISTEP,
        CONSTANT
    }

    /**
     * Where the data set is; whether to fetch the official archive when it is missing; training
     * augmentation on or off; optional caps on how many training / test images to use (0: all);
     * the side of the Cutout patch added to the augmentation (0: none); which set (CIFAR-10,
     * CIFAR-100) and, for CIFAR-100, which labels.
     */
    public record Data(String path, boolean download, boolean augment, int trainLimit, int testLimit, int cutout, Dataset dataset,
                       Labels labels) {
        /** A config written before CIFAR-100 was read (an older checkpoint's) is CIFAR-10's. */
        public Data {
            if (dataset == null) dataset = Dataset.CIFAR10;
            if (labels == null) labels = Labels.FINE;
        }

        /** The files, classes and normalization this section names. */
        public CifarFormat format() {
            return dataset == Dataset.CIFAR10 ? CifarFormat.CIFAR10 : labels == Labels.COARSE ? CifarFormat.CIFAR100_COARSE : CifarFormat.CIFAR100;
        }

        /** The same data set at {@code path}, with these download, augmentation and limit settings. */
        public Data with(String path, boolean download, boolean augment, int trainLimit, int testLimit) {
            return new Data(path, download, augment, trainLimit, testLimit, cutout, dataset, labels);
        }
    }

    /** The CIFAR set a run trains on. */
    public enum Dataset { CIFAR10, CIFAR100 }

    /** CIFAR-100's 100 fine classes, or its 20 coarse ones (superclasses); CIFAR-10 has one kind. */
    public enum Labels { FINE, COARSE }

    /**
     * Which allocator serves CPU tensors: ShakeNet's caching one (freed blocks kept for the next
     * request of the same size: peak memory stays at what a step holds live) or glibc's malloc,
     * libtorch's default.
     */
    public enum CpuAllocator { CACHING, SYSTEM }

    /**
     * What a step whose loss or gradients hold an inf or NaN does: end the run (exit code 3), or
     * skip that update as PyTorch's GradScaler does and stop after nonfinite_patience such steps in a row.
     */
    public enum NonFinitePolicy { STOP, SKIP }

    /**
     * Data-parallel training, when the environment makes this process one rank of several
     * (torchrun's or Slurm's variables, or {@code train --nproc-per-node}): the collective
     * backend, how long any collective or rendezvous may wait for the other ranks, the size of
     * the flat buckets gradients are averaged in, and where rank 0's store listens when the
     * environment does not say (MASTER_ADDR / MASTER_PORT win).
     */
    public record Distributed(Backend backend, double timeoutSeconds, double bucketMb, String masterAddr, int masterPort) {}

    /** auto: NCCL for CUDA devices where this build has it, else Gloo. */
    public enum Backend { AUTO, GLOO, NCCL }

    /** The paper's Shake-Shake-26 2x32d recipe on one device, 1800 epochs, on the CPU unless a GPU is there. */
    public static final RunConfig DEFAULTS = new RunConfig(
            "run",
            "",
            new Model(26, 32, ShakeShake.Mode.SHAKE, ShakeShake.Mode.SHAKE, ShakeShake.Level.IMAGE, null, Family.SHAKE_RESNET, 4, 270, false, 64),
            new Optimizer(0.1, 0.9, 0.0, 1e-4, true),
            new Schedule(ScheduleType.COSINE, null, 0.0, 0.0, null, 0.1),
            1800,
            64,
            128,
            new Data("data", false, true, 0, 0, 0, Dataset.CIFAR10, Labels.FINE),
            "auto",
            MemoryFormat.CONTIGUOUS,
            Precision.FP32,
            0,
            0,
            CpuAllocator.CACHING,
            Engine.Choice.AUTO,
            null,
            1,
            50,
            new Checkpointing(1, 2, true),
            NonFinitePolicy.STOP,
            10,
            new Distributed(Backend.AUTO, 300, 25, null, 29500),
            true);
}
