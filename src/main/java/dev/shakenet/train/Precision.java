package dev.shakenet.train;

import dev.shakenet.torch.DType;

/**
 * The arithmetic of the forward pass. FP32 throughout; BF16 and FP16 are autocast-style mixed
 * precision: convolutions and matrix products in 16 bits, parameters, batch-norm statistics,
 * the loss and the SGD update in float32. FP16 (CUDA only) adds dynamic loss scaling.
 */
public enum Precision {
    FP32(null), BF16(DType.BFLOAT16), FP16(DType.FLOAT16);

    private final DType autocast;

    Precision(DType autocast) {
        this.autocast = autocast;
    }

    /** The dtype autocast computes in, or null for plain float32. */
    public DType autocastDtype() {
        return autocast;
    }
}
