package dev.shakenet.nn;

import dev.shakenet.torch.Tensor;

/**
 * A whole classifier of 32x32 images, as the trainer, evaluation and export see it: images to
 * logits, in training or evaluation mode (Module.train), with PyTorch-style parameter names.
 * Shake-Shake 2xKd (ShakeResNet) is one; every family the configs can name is one.
 */
public abstract class Network extends Module {
    /** Images (N,3,32,32) -> logits (N,classes). */
    public abstract Tensor forward(Tensor images);

    /** How many classes the classifier tells apart. */
    public abstract int classes();
}
