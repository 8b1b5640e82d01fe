package dev.shakenet.nn;

import dev.shakenet.torch.Tensor;

/**
 * The shortcut of a ResNeXt block that changes width or resolution: a 1x1 conv with stride s and
 * BN, as the reference code's CIFAR-100 model does it (fb.resnet.torch's shortcut type B). It
 * sees x itself, not ReLU(x): in this family x is already a ReLU's output.
 */
final class ConvShortcut extends Module {
    private final Conv2d conv;
    private final BatchNorm2d bn;

    ConvShortcut(int in, int out, int stride, Init init) {
        conv = registerModule("conv", new Conv2d(in, out, 1, stride, 0, init));
        bn = registerModule("bn", new BatchNorm2d(out, init));
    }

    /** (N,in,H,W) -> (N,out,H/s,W/s) */
    Tensor forward(Tensor x) {
        try (Tensor c = conv.forward(x)) {
            return bn.forward(c);
        }
    }
}
