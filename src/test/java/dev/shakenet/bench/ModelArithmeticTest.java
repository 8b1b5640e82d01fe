package dev.shakenet.bench;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The model's arithmetic from its shapes, against PAPER.md and against counts measured on the layers libtorch ran. */
class ModelArithmeticTest {
    /** PAPER.md: "Forward cost per 32x32 image: 0.43 / 1.69 / 3.78 GMAC", given to two decimals. */
    @ParameterizedTest
    @CsvSource({"32, 0.43", "64, 1.69", "96, 3.78"})
    void shakeShake26MatchesThePapersForwardCost(int width, double gmac) {
        assertEquals(gmac, ModelArithmetic.forwardMultiplyAdds(26, width, 10) / 1e9, 0.005, "2x" + width + "d");
    }

    /**
     * Each count was measured once by running the model's forward pass and adding up, for every
     * convolution and linear layer libtorch ran, output elements times the weight's fan-in: the
     * shapes as they ran, not as worked out here. 8 2x16d has an identity shortcut in its first
     * stage (16 channels in and out), 20 2x48d a 100-class head.
     */
    @ParameterizedTest
    @CsvSource({
        "26, 32, 10, 426689792",   // config/cpu-quick.json's model
        "26, 64, 10, 1685506560",
        "26, 96, 10, 3776892672",
        "8, 16, 10, 24298112",
        "8, 4, 10, 2883744",
        "20, 48, 100, 697240320"})
    void equalsTheCountMeasuredOnTheShapesLibtorchRan(int depth, int width, int classes, long measured) {
        assertEquals(measured, ModelArithmetic.forwardMultiplyAdds(depth, width, classes));
    }

    @Test
    void aDepthThatIsNotSixNPlusTwoIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> ModelArithmetic.forwardMultiplyAdds(27, 32, 10));
        assertThrows(IllegalArgumentException.class, () -> ModelArithmetic.forwardMultiplyAdds(2, 32, 10));
    }
}
