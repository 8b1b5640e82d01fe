package dev.shakenet.nn;

import static org.junit.jupiter.api.Assertions.*;

import dev.shakenet.torch.DType;
import dev.shakenet.torch.Device;
import dev.shakenet.torch.Generator;
import dev.shakenet.torch.MemoryFormat;
import dev.shakenet.torch.Tensor;
import dev.shakenet.torch.TensorScope;
import dev.shakenet.torch.Torch;
import org.junit.jupiter.api.Test;

/** The arithmetic count the benchmark reports, against multiply-adds worked out by hand. */
class MultiplyAddsTest {
    @Test
    void countsAStridedConvolutionAndALinearLayer() {
        try (Generator g = Generator.create(Device.CPU, 0); TensorScope scope = TensorScope.open()) {
            Init init = new Init(Device.CPU, MemoryFormat.CONTIGUOUS, g);
            Conv2d conv = new Conv2d(3, 4, 3, 2, 1, init);
            Linear fc = new Linear(5, 7, init);
            try (MultiplyAdds outer = MultiplyAdds.start()) {
                try (MultiplyAdds inner = MultiplyAdds.start()) {
                    conv.forward(Tensor.zeros(DType.FLOAT32, Device.CPU, 2, 3, 8, 8));
                    // 2 images x 4x4 outputs x 4 filters, each 3*3*3 multiply-adds
                    assertEquals(2 * 16 * 4 * 27, inner.total());
                }
                fc.forward(Tensor.zeros(DType.FLOAT32, Device.CPU, 3, 5));
                assertEquals(2 * 16 * 4 * 27 + 3 * 7 * 5, outer.total(), "the inner count joins the outer one");
            }
            conv.forward(Tensor.zeros(DType.FLOAT32, Device.CPU, 1, 3, 8, 8)); // nothing open: nothing counted, nothing fails
            conv.close();
            fc.close();
        }
    }

    @Test
    void shakeShake26CountsWhatItsLayersComputeByHand() {
        int width = 32;
        long expected = 32 * 32 * 3 * 16 * 9L; // stem: 3 -> 16 channels, 3x3, 32x32
        int in = 16;
        for (int stage = 0; stage < 3; stage++) {
            long w = (long) width << stage, pixels = (32L >> stage) * (32L >> stage);
            expected += 2 * (pixels * in * w * 9 + pixels * w * w * 9); // first block's two branches (stride on conv1)
            expected += 2 * pixels * in * (w / 2);                      // its shortcut: two 1x1 convs to w/2
            expected += 3 * 2 * 2 * pixels * w * w * 9;                 // three more blocks, two branches of two convs
            in = (int) w;
        }
        expected += 4L * width * 10; // the linear head
        assertEquals(426_689_792L, expected, "the hand count itself: 0.853 GFLOP per image forward");
        try (Generator g = Generator.create(Device.CPU, 0); TensorScope scope = TensorScope.open();
             ShakeResNet net = ShakeResNetTest.model(26, width, g, g); var noGrad = Torch.noGrad()) {
            net.train(false);
            try (MultiplyAdds count = MultiplyAdds.start()) {
                net.forward(Tensor.zeros(DType.FLOAT32, Device.CPU, 3, 3, 32, 32));
                assertEquals(3 * expected, count.total());
            }
        }
    }
}
