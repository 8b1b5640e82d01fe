package dev.shakenet.train;

import com.fasterxml.jackson.databind.JsonNode;
import dev.shakenet.nn.Network;
import dev.shakenet.optim.Sgd;
import dev.shakenet.torch.DamagedFileException;
import dev.shakenet.torch.Device;
import dev.shakenet.torch.Generator;
import dev.shakenet.torch.NonFinite;
import dev.shakenet.torch.Tensor;
import dev.shakenet.torch.TensorFiles;
import dev.shakenet.torch.Torch;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.logging.log4j.LogManager;
import org.apache.logging.log4j.Logger;

/**
 * One checkpoint file: a flat {name: tensor} dict in PyTorch's format (so torch.load opens it)
 * holding everything a run needs to continue exactly:
 * <pre>
 * model.&lt;name&gt;                 parameters and BN buffers (the names of Network)
 * optimizer.momentum.&lt;name&gt;    SGD momentum buffers, per parameter
 * optimizer.momentum_ready     uint8, 1 where a buffer holds momentum already
 * rng.shake                    state of the shake-coefficient generator
 * rng.torch.cpu                state of libtorch's default CPU generator
 * amp.loss_scale               float16 loss scaling {scale, clean steps} (fp16 runs only)
 * rng.shake.ranks             every rank's shake generator state, row r from rank r (data-parallel runs only)
 * progress.loss_sum, .correct  the epoch's running sums (mid-epoch checkpoints only; over all ranks)
 * meta.json                    uint8 UTF-8 JSON: {@link Meta}
 * </pre>
 * The data order needs no state: it is a pure function of (seed, epoch, batch).
 */
public final class Checkpoint implements AutoCloseable {
    private static final Logger LOG = LogManager.getLogger(Checkpoint.class);
    public static final String MODEL = "model.";
    public static final String MOMENTUM = "optimizer.momentum.";
    public static final String MOMENTUM_READY = "optimizer.momentum_ready";
    public static final String RNG_SHAKE = "rng.shake";
    public static final String RNG_TORCH_CPU = "rng.torch.cpu";
    public static final String RNG_SHAKE_RANKS = "rng.shake.ranks";
    public static final String META = "meta.json";
    public static final String LOSS_SCALE = "amp.loss_scale";
    public static final int FORMAT = 1;

    /**
     * The non-tensor part: epochs completed, updates done, the best test accuracy so far and its
     * epoch, the resolved config, the versions that wrote it, and for a checkpoint written in the
     * middle of an epoch (a stop request) that epoch's figures so far (null at an epoch's end),
     * and the number of processes that trained it (null in checkpoints older than data-parallel
     * training: one).
     */
    public record Meta(int format, int epoch, long step, Double bestTestAccuracy, Integer bestEpoch, JsonNode config,
                       String shakenetVersion, String torchVersion, EpochTally.Saved progress, Integer worldSize) {
        /** Processes that trained up to this checkpoint. */
        public int processes() {
            return worldSize == null ? 1 : worldSize;
        }
    }

    private final Meta meta;
    private final Map<String, Tensor> tensors;
    private final Path file; // where it was read from; null for a captured one

    private Checkpoint(Meta meta, Map<String, Tensor> tensors, Path file) {
        this.meta = meta;
        this.tensors = tensors;
        this.file = file;
    }

    /**
     * The state of {@code training} after {@code epoch} epochs ({@code step} updates), with the
     * best test accuracy so far and its epoch. Weights and momentum are shared with the model,
     * not copied: write the checkpoint before training goes on. Closing it leaves the model intact.
     */
    public static Checkpoint capture(TrainingModel training, int epoch, long step, Double bestTestAccuracy, Integer bestEpoch) {
        return capture(training, epoch, step, bestTestAccuracy, bestEpoch, null, Map.of(), 1);
    }

    /**
     * As above, by {@code worldSize} processes, in the middle of epoch {@code epoch + 1} when
     * {@code progress} is non-null; {@code extra} (its device sums, the ranks' generator states)
     * is owned by the checkpoint from here.
     */
    static Checkpoint capture(TrainingModel training, int epoch, long step, Double bestTestAccuracy, Integer bestEpoch,
                              EpochTally.Saved progress, Map<String, Tensor> extra, int worldSize) {
        Map<String, Tensor> tensors = new LinkedHashMap<>(extra);
        try {
            // detach(): the checkpoint's own handles on the model's storage, so that closing it frees only those.
            training.model().stateDict().forEach((name, t) -> tensors.put(MODEL + name, t.detach().unscoped()));
            List<String> names = List.copyOf(training.model().namedParameters().keySet());
            Sgd sgd = training.sgd();
            List<Tensor> buffers = sgd.momentumBuffers();
            for (int i = 0; i < buffers.size(); i++) tensors.put(MOMENTUM + names.get(i), buffers.get(i).detach().unscoped());
            boolean[] ready = sgd.bufferReady();
            byte[] readyBytes = new byte[ready.length];
            for (int i = 0; i < ready.length; i++) readyBytes[i] = (byte) (ready[i] ? 1 : 0);
            tensors.put(MOMENTUM_READY, Tensor.fromBytes(readyBytes, readyBytes.length).unscoped());
            tensors.put(RNG_SHAKE, training.shakeGenerator().state().unscoped());
            try (Generator cpuDefault = Generator.defaultFor(Device.CPU)) {
                tensors.put(RNG_TORCH_CPU, cpuDefault.state().unscoped());
            }
            LossScaler scaler = training.lossScaler();
            if (scaler != null) tensors.put(LOSS_SCALE, Tensor.fromDoubles(scaler.state(), scaler.state().length).unscoped());
        } catch (RuntimeException e) {
            tensors.values().forEach(Tensor::close);
            throw e;
        }
        Meta meta = new Meta(FORMAT, epoch, step, bestTestAccuracy, bestEpoch, ConfigLoader.JSON.valueToTree(training.config()),
                RunInfo.shakenetVersion(), Torch.version(), progress, worldSize);
        return new Checkpoint(meta, tensors, null);
    }

    /**
     * Puts this checkpoint's state into {@code training}, built for the same model shape: weights
     * and batch-norm statistics, momentum, the shake and default CPU generators, the loss scale.
     */
    public void restore(TrainingModel training) {
        Network model = training.model();
        try {
            model.loadStateDict(section(MODEL));
        } catch (IllegalArgumentException e) {
            throw new CheckpointException("the checkpoint does not fit this model: " + e.getMessage());
        }
        Sgd sgd = training.sgd();
        byte[] readyBytes = tensor(MOMENTUM_READY).toByteArray();
        boolean[] ready = new boolean[readyBytes.length];
        for (int i = 0; i < ready.length; i++) ready[i] = readyBytes[i] != 0;
        if (sgd.options().momentum() != 0) {
            Map<String, Tensor> momentum = section(MOMENTUM);
            List<Tensor> buffers = new ArrayList<>();
            for (String name : model.namedParameters().keySet()) {
                Tensor b = momentum.get(name);
                if (b == null) throw new CheckpointException("the checkpoint has no momentum buffer for " + name);
                buffers.add(b);
            }
            sgd.restore(buffers, ready);
        }
        training.shakeGenerator().setState(tensor(RNG_SHAKE));
        try (Generator cpuDefault = Generator.defaultFor(Device.CPU)) {
            cpuDefault.setState(tensor(RNG_TORCH_CPU));
        }
        Tensor scale = tensors.get(LOSS_SCALE);
        if (scale != null && training.lossScaler() != null) training.lossScaler().restore(scale.toDoubleArray());
    }

    public Meta meta() {
        return meta;
    }

    /** The file it was read from, or null for one captured from a model. */
    public Path file() {
        return file;
    }

    /** All tensors but meta.json, by name. */
    public Map<String, Tensor> tensors() {
        return tensors;
    }

    /** The entries under {@code prefix}, with the prefix taken off their names. */
    public Map<String, Tensor> section(String prefix) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        tensors.forEach((name, t) -> {
            if (name.startsWith(prefix)) out.put(name.substring(prefix.length()), t);
        });
        return out;
    }

    public Tensor tensor(String name) {
        Tensor t = tensors.get(name);
        if (t == null) throw new CheckpointException("checkpoint has no '" + name + "' entry");
        return t;
    }

    /** The run config the checkpoint was written under. */
    public RunConfig config() {
        try {
            return ConfigLoader.ofSaved(meta.config());
        } catch (IOException e) {
            throw new CheckpointException("checkpoint's config does not read back: " + e.getMessage());
        }
    }

    /** Writes this checkpoint to {@code file} atomically, read back and checked before it takes the name; refuses one that holds an inf or NaN. */
    public void write(Path file) throws IOException {
        List<String> nonFinite = NonFinite.namesOfNonFinite(tensors);
        if (!nonFinite.isEmpty()) {
            throw new NonFiniteException("not writing the checkpoint " + file + ": " + nonFinite.size() + " of its tensors hold inf or NaN ("
                    + String.join(", ", nonFinite.subList(0, Math.min(3, nonFinite.size()))) + (nonFinite.size() > 3 ? ", ..." : "")
                    + "); the previous checkpoints are kept");
        }
        Map<String, Tensor> all = new LinkedHashMap<>(tensors);
        byte[] metaBytes = ConfigLoader.JSON.writeValueAsBytes(meta);
        try (Tensor json = Tensor.fromBytes(metaBytes, metaBytes.length)) {
            all.put(META, json);
            AtomicFiles.write(file, TensorFiles.sizeOf(all), tmp -> TensorFiles.save(tmp, all), TensorFiles::verify);
        }
    }

    /**
     * The newest checkpoint of a run folder that reads back intact, for a resume: a damaged newer
     * one is renamed to &lt;name&gt;.damaged (kept for inspection, out of the run's way) with a
     * warning naming both; empty when the folder holds none.
     */
    static Optional<Checkpoint> readNewestIntact(Path runDir) throws IOException {
        return readNewestIntact(runDir, true);
    }

    /** As above; with {@code setAside} false (a rank other than 0), damaged files are passed over and left as they are. */
    static Optional<Checkpoint> readNewestIntact(Path runDir, boolean setAside) throws IOException {
        List<Path> files = new ArrayList<>(Checkpoints.epochFiles(runDir));
        Collections.reverse(files);
        List<DamagedCheckpointException> damaged = new ArrayList<>();
        for (Path file : files) {
            try {
                Checkpoint intact = read(file);
                for (DamagedCheckpointException d : setAside ? damaged : List.<DamagedCheckpointException>of()) {
                    Path aside = d.file().resolveSibling(d.file().getFileName() + DAMAGED_SUFFIX);
                    Files.move(d.file(), aside, StandardCopyOption.REPLACE_EXISTING);
                    LOG.warn("{}; resuming from the previous intact checkpoint {} instead; the damaged file is kept as {}", d.getMessage(),
                            file.getFileName(), aside.getFileName());
                }
                return Optional.of(intact);
            } catch (DamagedCheckpointException e) {
                damaged.add(e);
            }
        }
        if (!damaged.isEmpty()) {
            throw new CheckpointException("every checkpoint of " + runDir + " is damaged (" + damaged.getFirst().getMessage()
                    + "); nothing was renamed or deleted. Start the run again in a new folder");
        }
        return Optional.empty();
    }

    /** Appended to a damaged checkpoint's name when a resume falls back to an older one. */
    static final String DAMAGED_SUFFIX = ".damaged";

    /** Reads a checkpoint file (or the newest checkpoint of a run folder). */
    public static Checkpoint read(Path fileOrRun) throws IOException {
        Path file = Files.isDirectory(fileOrRun) ? Checkpoints.latest(fileOrRun)
                .orElseThrow(() -> new CheckpointException(fileOrRun + " holds no checkpoint (" + Checkpoints.DIR + "/epoch-*.pt)")) : fileOrRun;
        if (!Files.isRegularFile(file)) throw new CheckpointException(file + " does not exist");
        Map<String, Tensor> all;
        try {
            all = TensorFiles.load(file);
        } catch (DamagedFileException e) {
            throw new DamagedCheckpointException(file, e.getMessage());
        } catch (IOException | RuntimeException e) {
            throw new CheckpointException(file + " is not a readable checkpoint: " + e.getMessage());
        }
        Tensor json = all.remove(META);
        if (json == null) {
            all.values().forEach(Tensor::close);
            throw new CheckpointException(file + " has no meta.json entry: it is not a ShakeNet checkpoint (a weights file? use model.init_from)");
        }
        Meta meta;
        try (json) {
            meta = ConfigLoader.JSON.readValue(new String(json.toByteArray(), StandardCharsets.UTF_8), Meta.class);
        }
        if (meta.format() != FORMAT) throw new CheckpointException(file + " has checkpoint format " + meta.format() + "; this ShakeNet reads " + FORMAT);
        return new Checkpoint(meta, all, file);
    }

    @Override
    public void close() {
        tensors.values().forEach(Tensor::close);
    }
}
