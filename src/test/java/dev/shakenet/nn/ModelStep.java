package dev.shakenet.nn;

import dev.shakenet.optim.Sgd;
import dev.shakenet.torch.Autocast;
import dev.shakenet.torch.DType;
import dev.shakenet.torch.Functional;
import dev.shakenet.torch.Tensor;
import dev.shakenet.torch.TensorScope;
import java.util.Map;
import java.util.TreeMap;

/**
 * One training step of a model as the trainer runs it (forward through an engine, float32 or
 * float64 loss, backward, SGD), and everything it produced by name, as doubles: "logits",
 * "loss", "grad.&lt;parameter&gt;", "buffer.&lt;buffer&gt;" (after the forward) and "step.&lt;parameter&gt;"
 * (after the update), the names the PyTorch golden uses after its mode prefix.
 */
final class ModelStep {
    static final double LR = 0.1;
    static final Sgd.Options SGD = new Sgd.Options(0.9, 0, 1e-4, true);

    private ModelStep() {}

    /** @param autocast the reduced precision to run the forward in (null: the model's own dtype) */
    static Map<String, double[]> train(ShakeResNet model, Engine engine, Tensor images, Tensor labels, DType autocast) {
        Map<String, double[]> out = new TreeMap<>();
        model.train(true);
        model.zeroGrad();
        try (TensorScope scope = TensorScope.open(); Sgd sgd = new Sgd(model.parameters(), SGD, engine.onePassSgd())) {
            Tensor logits;
            try (Autocast amp = Autocast.enter(images.device(), autocast)) {
                logits = engine.forward(model, images);
            }
            if (logits.dtype() == DType.BFLOAT16 || logits.dtype() == DType.FLOAT16) logits = logits.to(DType.FLOAT32);
            Tensor loss = Functional.crossEntropy(logits, labels);
            loss.backward();
            out.put("logits", doubles(logits));
            out.put("loss", doubles(loss));
            model.namedParameters().forEach((name, p) -> out.put("grad." + name, doubles(p.grad())));
            model.namedBuffers().forEach((name, b) -> out.put("buffer." + name, doubles(b)));
            sgd.step(LR);
            model.namedParameters().forEach((name, p) -> out.put("step." + name, doubles(p)));
        }
        return out;
    }

    /** The model's logits in evaluation mode (running statistics, shake 0.5), without autograd. */
    static double[] evaluate(ShakeResNet model, Tensor images) {
        model.train(false);
        try (TensorScope scope = TensorScope.open(); var noGrad = dev.shakenet.torch.Torch.noGrad()) {
            return doubles(model.forward(images));
        } finally {
            model.train(true);
        }
    }

    static double[] doubles(Tensor t) {
        return t.to(dev.shakenet.torch.Device.CPU).to(DType.FLOAT64).toDoubleArray();
    }

    /** The largest |expected - actual|, failing on a length mismatch. */
    static double maxDifference(double[] expected, double[] actual, String what) {
        if (expected.length != actual.length) throw new AssertionError(what + ": " + expected.length + " values expected, " + actual.length + " given");
        double worst = 0;
        for (int i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(expected[i] - actual[i]));
        return worst;
    }

    /** ||expected - actual|| / ||expected|| (the absolute difference where expected is all zeros). */
    static double relativeDifference(double[] expected, double[] actual, String what) {
        if (expected.length != actual.length) throw new AssertionError(what + ": " + expected.length + " values expected, " + actual.length + " given");
        double difference = 0, norm = 0;
        for (int i = 0; i < expected.length; i++) {
            difference += (expected[i] - actual[i]) * (expected[i] - actual[i]);
            norm += expected[i] * expected[i];
        }
        return norm == 0 ? Math.sqrt(difference) : Math.sqrt(difference / norm);
    }
}
