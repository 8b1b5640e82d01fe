package dev.shakenet.train;

import com.fasterxml.jackson.databind.JsonNode;
import dev.shakenet.torch.Tensor;
import dev.shakenet.torch.TensorFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One checkpoint file: a flat {name: tensor} dict in PyTorch's format (so torch.load opens it)
 * holding everything a run needs to continue exactly:
 * <pre>
 * model.&lt;name&gt;                 parameters and BN buffers (the names of ShakeResNet)
 * optimizer.momentum.&lt;name&gt;    SGD momentum buffers, per parameter
 * optimizer.momentum_ready     uint8, 1 where a buffer holds momentum already
 * rng.shake                    state of the shake-coefficient generator
 * rng.torch.cpu                state of libtorch's default CPU generator
 * amp.loss_scale               float16 loss scaling {scale, clean steps} (fp16 runs only)
 * meta.json                    uint8 UTF-8 JSON: {@link Meta}
 * </pre>
 * The data order needs no state: it is a pure function of (seed, epoch).
 */
public final class Checkpoint implements AutoCloseable {
    public static final String MODEL = "model.";
    public static final String MOMENTUM = "optimizer.momentum.";
    public static final String MOMENTUM_READY = "optimizer.momentum_ready";
    public static final String RNG_SHAKE = "rng.shake";
    public static final String RNG_TORCH_CPU = "rng.torch.cpu";
    public static final String META = "meta.json";
    public static final String LOSS_SCALE = "amp.loss_scale";
    public static final int FORMAT = 1;

    /**
     * The non-tensor part: epochs completed, updates done, the best test accuracy so far and its
     * epoch, the resolved config, and the versions that wrote it.
     */
    public record Meta(int format, int epoch, long step, Double bestTestAccuracy, Integer bestEpoch, JsonNode config,
                       String shakenetVersion, String torchVersion) {}

    private final Meta meta;
    private final Map<String, Tensor> tensors;

    public Checkpoint(Meta meta, Map<String, Tensor> tensors) {
        this.meta = meta;
        this.tensors = tensors;
    }

    public Meta meta() {
        return meta;
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
            return ConfigLoader.JSON.treeToValue(meta.config(), RunConfig.class);
        } catch (IOException e) {
            throw new CheckpointException("checkpoint's config does not read back: " + e.getMessage());
        }
    }

    /** Writes this checkpoint to {@code file} atomically. */
    public void write(Path file) throws IOException {
        Map<String, Tensor> all = new LinkedHashMap<>(tensors);
        byte[] metaBytes = ConfigLoader.JSON.writeValueAsBytes(meta);
        try (Tensor json = Tensor.fromBytes(metaBytes, metaBytes.length)) {
            all.put(META, json);
            AtomicFiles.write(file, tmp -> TensorFiles.save(tmp, all));
        }
    }

    /** Reads a checkpoint file (or the newest checkpoint of a run folder). */
    public static Checkpoint read(Path fileOrRun) throws IOException {
        Path file = Files.isDirectory(fileOrRun) ? Checkpoints.latest(fileOrRun)
                .orElseThrow(() -> new CheckpointException(fileOrRun + " holds no checkpoint (" + Checkpoints.DIR + "/epoch-*.pt)")) : fileOrRun;
        if (!Files.isRegularFile(file)) throw new CheckpointException(file + " does not exist");
        Map<String, Tensor> all;
        try {
            all = TensorFiles.load(file);
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
        return new Checkpoint(meta, all);
    }

    @Override
    public void close() {
        tensors.values().forEach(Tensor::close);
    }
}
