package dev.shakenet.torch;

/**
 * One block's ShakeDrop coefficients for one mini-batch, one value per image, shape (N,1,1,1):
 * {@code gate ~ Bernoulli(p_l)}, {@code alpha ~ U(-1,1)} for the forward pass and
 * {@code beta ~ U(0,1)} for the backward pass (Yamada et al., 2018).
 */
public record ShakeDropCoefficients(Tensor gate, Tensor alpha, Tensor beta) implements AutoCloseable {

    /**
     * Draws the coefficients of {@code images} images from {@code generator} (on {@code device}),
     * in the order gate, alpha, beta, so one seed gives one sequence. {@code dtype} is that of the
     * draws (float32 for float32 and reduced-precision training alike, float64 for float64).
     */
    public static ShakeDropCoefficients draw(long images, double survival, DType dtype, Device device, Generator generator) {
        Tensor gate = Tensor.bernoulli(survival, dtype, device, generator, images, 1, 1, 1);
        Tensor alpha = null;
        try {
            alpha = Tensor.uniform(-1, 1, dtype, device, generator, images, 1, 1, 1);
            return new ShakeDropCoefficients(gate, alpha, Tensor.uniform(0, 1, dtype, device, generator, images, 1, 1, 1));
        } catch (RuntimeException e) {
            gate.close();
            if (alpha != null) alpha.close();
            throw e;
        }
    }

    @Override
    public void close() {
        gate.close();
        alpha.close();
        beta.close();
    }
}
