package dev.shakenet.bench;

import dev.shakenet.data.Cifar;
import dev.shakenet.data.Batches;
import dev.shakenet.data.ImageSet;
import dev.shakenet.nn.Network;
import dev.shakenet.optim.Sgd;
import dev.shakenet.torch.CpuMemory;
import dev.shakenet.torch.Device;
import dev.shakenet.torch.Functional;
import dev.shakenet.torch.NonFinite;
import dev.shakenet.torch.Tensor;
import dev.shakenet.torch.TensorScope;
import dev.shakenet.torch.Torch;
import dev.shakenet.torch.TorchException;
import dev.shakenet.train.ForwardPass;
import dev.shakenet.train.ResolvedRun;
import dev.shakenet.train.RunConfig;
import dev.shakenet.train.RunInfo;
import dev.shakenet.train.TrainStep;
import dev.shakenet.train.TrainingModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Times the real training step of a config: with the data pipeline (batches assembled and
 * augmented, uploaded, forward, loss, backward, SGD), the model step
 * alone on a batch already on the device (split into forward+loss, backward and optimizer), and
 * evaluation (forward without autograd). Every figure is a median over timed steps after warm-up
 * steps, with min and max. Each section also gives the arithmetic rate it reached, next to the
 * rate of one large convolution on the same device: how far the step is from what libtorch's
 * kernels allow.
 */
public final class Benchmark {
    private Benchmark() {}

    /**
     * Runs the benchmark, with a per-op profile of {@code profileSteps} training steps when
     * positive; the result is a JSON-ready map (snake_case keys).
     */
    public static Map<String, Object> run(ResolvedRun run, Cifar.Splits data, String dataSource, int steps, int warmup, int profileSteps) {
        RunConfig config = run.config();
        Device device = run.device();
        if (device.isCuda()) Torch.resetCudaPeakMemory(Math.max(device.index(), 0));
        Map<String, Object> out = new LinkedHashMap<>();
        double trainGflop;
        // The model first: creating it applies the config's process settings (threads, allocator) the header reports.
        try (TrainingModel training = TrainingModel.create(run); TrainStep step = new TrainStep(training)) {
            Network model = training.model();
            Sgd sgd = training.sgd();
            RunConfig.Model m = config.model();
            out.put("config", config.name());
            out.put("model", m.title());
            out.put("device", device.toString());
            out.put("device_name", RunInfo.deviceName(device));
            out.put("precision", config.precision().name().toLowerCase());
            out.put("memory_format", config.memoryFormat().name().toLowerCase());
            out.put("threads", Torch.numThreads());
            out.put("cpu_allocator", config.cpuAllocator().name().toLowerCase());
            out.put("engine", training.engine().name());
            out.put("batch_size", config.batchSize());
            out.put("eval_batch_size", config.evalBatchSize());
            out.put("libtorch", Torch.version());
            out.put("shakenet", RunInfo.shakenetVersion());
            out.put("jvm_gc", garbageCollectors());
            out.put("data", dataSource);
            out.put("warmup_steps", warmup);
            out.put("timed_steps", steps);
            out.put("parameters", model.parameterCount());
            ForwardPass forward = training.forwardPass();
            // ModelArithmetic counts Shake-Shake 2xKd's layers; other families are timed, not counted (0: no rates, no bound)
            boolean counted = m.family() == RunConfig.Family.SHAKE_RESNET;
            double forwardGflop = counted ? 2.0 * ModelArithmetic.forwardMultiplyAdds(m.depth(), m.width(), config.data().format().classes()) / 1e9 : 0;
            trainGflop = 3 * forwardGflop;
            Map<String, Object> arithmetic = new LinkedHashMap<>();
            if (counted) {
                arithmetic.put("forward_gflop_per_image", forwardGflop);
                arithmetic.put("train_step_gflop_per_image", trainGflop);
                arithmetic.put("counted", "2 FLOP per multiply-add of the convolutions and the linear layer, from the shapes run; "
                        + "a training step counts 3 forward passes (forward, input gradients, weight gradients)");
            } else {
                arithmetic.put("counted", "not for " + m.family().name().toLowerCase() + ": only Shake-Shake 2xKd's arithmetic is counted");
            }
            out.put("arithmetic", arithmetic);
            out.put("train_step_with_data", finishSection(device, withData(config, data.train(), forward, step, device, steps, warmup), trainGflop));
            out.put("model_step", finishSection(device, modelOnly(config, data.train(), forward, model, sgd, device, steps, warmup), trainGflop));
            out.put("eval", finishSection(device, evaluation(config, data.test(), forward, device, steps, warmup), forwardGflop));
            if (profileSteps > 0) out.put("profile", profile(config, data.train(), forward, step, device, profileSteps));
        }
        Map<String, Object> ceiling = ConvolutionCeiling.measure(device, config.precision(), config.memoryFormat(), steps, warmup);
        double ceilingRate = ((Stats) ceiling.get("gflop_per_second")).median();
        if (trainGflop > 0) ceiling.put("train_step_images_per_second_bound", ceilingRate / trainGflop);
        out.put("convolution_ceiling", ceiling);
        out.put("peak_rss_bytes", peakResidentBytes());
        if (CpuMemory.isCaching()) out.put("cpu_allocator_totals", CpuMemory.stats());
        return out;
    }

    /**
     * Adds the arithmetic rate the section's median reached, its peak device memory (CUDA) and the
     * peak bytes of CPU tensors (caching allocator) to its timing, and resets the peaks for the
     * next section.
     */
    private static Map<String, Object> finishSection(Device device, Map<String, Object> section, double gflopPerImage) {
        if (gflopPerImage > 0) section.put("gflop_per_second", ((Stats) section.get("images_per_second")).median() * gflopPerImage);
        if (CpuMemory.isCaching()) {
            section.put("peak_cpu_tensor_bytes", CpuMemory.stats().peakLiveBytes());
            CpuMemory.resetPeak();
        }
        if (device.isCuda()) {
            int index = Math.max(device.index(), 0);
            section.put("peak_device_bytes", Torch.cudaMemory(index)[1]);
            Torch.resetCudaPeakMemory(index);
        }
        return section;
    }

    private static Map<String, Object> withData(RunConfig config, ImageSet train, ForwardPass forward, TrainStep step, Device device, int steps,
                                                int warmup) {
        double[] seconds = new double[steps];
        int batch = config.batchSize();
        try (Batches batches = Batches.training(repeat(train, batch * (steps + warmup)), batch, config.seed(), 0, config.data().augment(),
                device.isCuda(), 0, 0, 1, config.data().cutout())) {
            for (int i = 0; i < warmup + steps; i++) {
                long start = System.nanoTime();
                try (TensorScope scope = TensorScope.open()) {
                    step.run(forward.upload(batches.next()), config.optimizer().lr(), i);
                    Torch.synchronize(device);
                }
                if (i >= warmup) seconds[i - warmup] = (System.nanoTime() - start) / 1e9;
            }
        }
        return timing(seconds, batch);
    }

    private static Map<String, Object> modelOnly(RunConfig config, ImageSet train, ForwardPass forward, Network model, Sgd sgd,
                                                 Device device, int steps, int warmup) {
        int batchSize = config.batchSize();
        double[] total = new double[steps], forwardAndLoss = new double[steps], backward = new double[steps], check = new double[steps],
                optimizer = new double[steps];
        List<Tensor> buffers = List.copyOf(model.namedBuffers().values()), params = model.parameters();
        try (TensorScope scope = TensorScope.open(); NonFinite record = new NonFinite(device)) {
            ForwardPass.DeviceBatch onDevice = firstBatch(config, train, forward);
            for (int i = 0; i < warmup + steps; i++) {
                try (TensorScope stepScope = TensorScope.open()) {
                    long t0 = System.nanoTime();
                    Tensor loss = Functional.crossEntropy(forward.forward(onDevice.images()), onDevice.labels());
                    model.zeroGrad();
                    Torch.synchronize(device);
                    long t1 = System.nanoTime();
                    loss.backward();
                    Torch.synchronize(device);
                    long t2 = System.nanoTime();
                    List<Tensor> values = new ArrayList<>(buffers); // the training step's inf/NaN check (NonFiniteGuard)
                    values.add(loss);
                    record.record(i, values, params);
                    Torch.synchronize(device);
                    long t3 = System.nanoTime();
                    sgd.step(config.optimizer().lr());
                    Torch.synchronize(device);
                    long t4 = System.nanoTime();
                    if (i >= warmup) {
                        forwardAndLoss[i - warmup] = (t1 - t0) / 1e9;
                        backward[i - warmup] = (t2 - t1) / 1e9;
                        check[i - warmup] = (t3 - t2) / 1e9;
                        optimizer[i - warmup] = (t4 - t3) / 1e9;
                        total[i - warmup] = (t4 - t0) / 1e9;
                    }
                }
            }
        }
        Map<String, Object> out = timing(total, batchSize);
        Map<String, Object> phases = new LinkedHashMap<>();
        phases.put("forward_and_loss", Stats.of(forwardAndLoss));
        phases.put("backward", Stats.of(backward));
        phases.put("nonfinite_check", Stats.of(check));
        phases.put("optimizer", Stats.of(optimizer));
        out.put("phase_seconds", phases);
        return out;
    }

    private static Map<String, Object> evaluation(RunConfig config, ImageSet test, ForwardPass forward, Device device, int steps, int warmup) {
        int batch = config.evalBatchSize();
        double[] seconds = new double[steps];
        Network model = forward.model();
        model.train(false);
        try (TensorScope scope = TensorScope.open(); var noGrad = Torch.noGrad();
             Batches batches = Batches.evaluation(repeat(test, batch), batch)) {
            ForwardPass.DeviceBatch onDevice = forward.upload(batches.next());
            for (int i = 0; i < warmup + steps; i++) {
                long start = System.nanoTime();
                try (TensorScope stepScope = TensorScope.open()) {
                    Functional.countCorrect(forward.forward(onDevice.images()), onDevice.labels());
                    Torch.synchronize(device);
                }
                if (i >= warmup) seconds[i - warmup] = (System.nanoTime() - start) / 1e9;
            }
        } finally {
            model.train(true);
        }
        return timing(seconds, batch);
    }

    /** One augmented training batch on the device, for the measurements that reuse a single batch. */
    private static ForwardPass.DeviceBatch firstBatch(RunConfig config, ImageSet train, ForwardPass forward) {
        int batch = config.batchSize();
        try (Batches batches = Batches.training(repeat(train, batch), batch, config.seed(), 0, true, true, 0, 0, 1,
                config.data().cutout())) {
            return forward.upload(batches.next());
        }
    }

    /**
     * Where a training step's time goes: libtorch's profiler over {@code steps} model steps, the
     * ops with the most self time first (self: not counting the ops they called).
     */
    private static Map<String, Object> profile(RunConfig config, ImageSet train, ForwardPass forward, TrainStep step, Device device, int steps) {
        Map<String, Object> out = new LinkedHashMap<>();
        try (TensorScope scope = TensorScope.open()) {
            ForwardPass.DeviceBatch onDevice = firstBatch(config, train, forward);
            List<OpProfiler.Op> ops;
            long start;
            OpProfiler profiler = OpProfiler.start();
            try {
                start = System.nanoTime();
                for (int i = 0; i < steps; i++) {
                    try (TensorScope stepScope = TensorScope.open()) {
                        step.run(onDevice, config.optimizer().lr(), i);
                        Torch.synchronize(device);
                    }
                }
            } finally {
                ops = profiler.stop();
            }
            double stepMs = (System.nanoTime() - start) / 1e6 / steps;
            out.put("steps", steps);
            out.put("step_ms", stepMs);
            List<Map<String, Object>> top = new ArrayList<>();
            for (OpProfiler.Op op : ops.subList(0, Math.min(30, ops.size()))) {
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("op", op.name());
                row.put("calls_per_step", (double) op.calls() / steps);
                row.put("self_ms_per_step", op.selfMicros() / 1000 / steps);
                row.put("total_ms_per_step", op.totalMicros() / 1000 / steps);
                row.put("self_share", op.selfMicros() / 1000 / steps / stepMs);
                top.add(row);
            }
            out.put("ops", top);
        } catch (TorchException e) {
            out.put("error", e.getMessage());
        }
        return out;
    }

    private static Map<String, Object> timing(double[] seconds, int batch) {
        double[] rate = new double[seconds.length];
        for (int i = 0; i < seconds.length; i++) rate[i] = batch / seconds[i];
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("images_per_second", Stats.of(rate));
        out.put("step_seconds", Stats.of(seconds));
        // In the order run: shows whether slow steps cluster (start-up) or scatter (machine noise).
        out.put("each_step_seconds", Arrays.stream(seconds).map(s -> Math.round(s * 1e5) / 1e5).toArray());
        return out;
    }

    /** At least {@code n} images, cycling through {@code set}. */
    static ImageSet repeat(ImageSet set, int n) {
        if (set.count() >= n) return set.first(n);
        byte[] px = new byte[n * ImageSet.IMAGE_BYTES], labels = new byte[n];
        for (int i = 0; i < n; i++) {
            System.arraycopy(set.pixels(), (i % set.count()) * ImageSet.IMAGE_BYTES, px, i * ImageSet.IMAGE_BYTES, ImageSet.IMAGE_BYTES);
            labels[i] = set.labels()[i % set.count()];
        }
        return new ImageSet(px, labels, n, set.normalization());
    }

    /** Random images and labels, for benchmarking where no CIFAR-10 copy is at hand. */
    public static ImageSet synthetic(int n, long seed) {
        Random rng = new Random(seed);
        byte[] px = new byte[n * ImageSet.IMAGE_BYTES], labels = new byte[n];
        rng.nextBytes(px);
        for (int i = 0; i < n; i++) labels[i] = (byte) rng.nextInt(10); // any labels 0..9 fit every CIFAR head
        return new ImageSet(px, labels, n);
    }

    /** The JVM's collectors, e.g. "Copy, MarkSweepCompact" under bin/shakenet's serial GC. */
    static String garbageCollectors() {
        return String.join(", ", java.lang.management.ManagementFactory.getGarbageCollectorMXBeans().stream()
                .map(java.lang.management.GarbageCollectorMXBean::getName).toList());
    }

    /** The process's peak resident memory (VmHWM), or -1 where /proc is absent. */
    static long peakResidentBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        } catch (IOException | NumberFormatException e) {
            // not Linux
        }
        return -1;
    }
}
