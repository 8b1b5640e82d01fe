package dev.shakenet.train;

import dev.shakenet.data.Batches;
import dev.shakenet.nn.Engine;
import dev.shakenet.nn.Network;
import dev.shakenet.torch.Autocast;
import dev.shakenet.torch.DType;
import dev.shakenet.torch.Device;
import dev.shakenet.torch.MemoryFormat;
import dev.shakenet.torch.Tensor;

/**
 * A model fed as training, evaluation and the benchmark all feed it: a batch uploaded to the
 * model's device in its memory format, and the forward pass (through the run's engine) in the
 * run's precision. Tensors it
 * returns belong to the caller's TensorScope.
 */
public final class ForwardPass {
    /** A batch on the device: images (N,3,32,32) in the model's memory format, labels (N) int64. */
    public record DeviceBatch(Tensor images, Tensor labels) {}

    private final Network model;
    private final Engine engine;
    private final Device device;
    private final MemoryFormat format;
    private final Precision precision;

    ForwardPass(Network model, Engine engine, Device device, MemoryFormat format, Precision precision) {
        this.model = model;
        this.engine = engine;
        this.device = device;
        this.format = format;
        this.precision = precision;
    }

    public Network model() {
        return model;
    }

    public Device device() {
        return device;
    }

    /** The batch on the device; on CUDA from pinned memory, so the copy does not block this thread. */
    public DeviceBatch upload(Batches.Batch batch) {
        boolean cuda = device.isCuda();
        Tensor host = cuda ? Tensor.fromFloatsPinned(batch.images(), batch.size(), 3, 32, 32)
                : Tensor.fromFloats(batch.images(), batch.size(), 3, 32, 32);
        Tensor images = host.to(device, null, format, cuda);
        Tensor labels = Tensor.fromLongs(batch.labels(), batch.size()).to(device);
        return new DeviceBatch(images, labels);
    }

    /** Logits (N,classes) as float32, computed under autocast for bf16 / fp16. */
    public Tensor forward(Tensor images) {
        Tensor logits;
        try (Autocast amp = Autocast.enter(device, precision.autocastDtype())) {
            logits = engine.forward(model, images);
        }
        return logits.dtype() == DType.FLOAT32 ? logits : logits.to(DType.FLOAT32);
    }
}
