package dev.shakenet.train;

import static org.junit.jupiter.api.Assertions.*;

import dev.shakenet.data.Batches;
import dev.shakenet.data.ImageSet;
import dev.shakenet.nn.Init;
import dev.shakenet.nn.Engine;
import dev.shakenet.nn.Shake;
import dev.shakenet.nn.ShakeCoefficients;
import dev.shakenet.nn.ShakeResNet;
import dev.shakenet.torch.Device;
import dev.shakenet.torch.Generator;
import dev.shakenet.torch.MemoryFormat;
import dev.shakenet.torch.Tensor;
import dev.shakenet.torch.TensorScope;
import dev.shakenet.torch.Torch;
import org.junit.jupiter.api.Test;

/** Evaluation through the training's forward pass, against the model's logits scored by hand in float64. */
class EvaluatorTest {
    @Test
    void lossAccuracyAndConfusionMatchTheLogitsScoredByHandForAModelOfThreeClasses() {
        int n = 12, classes = 3;
        ImageSet set = TrainerTest.noise(n, 4);
        byte[] labels = set.labels();
        for (int i = 0; i < n; i++) labels[i] = (byte) (i % classes);
        try (Generator g = Generator.create(Device.CPU, 3); TensorScope scope = TensorScope.open();
             ShakeResNet model = new ShakeResNet(8, 4, classes, ShakeCoefficients.drawn(Shake.SHAKE_SHAKE_IMAGE, g), new Init(Device.CPU, MemoryFormat.CONTIGUOUS, g))) {
            assertEquals(classes, model.classes());
            // Uneven batches (5, 5, 2): the sums must carry across them.
            Evaluator.Result r = new Evaluator(new ForwardPass(model, Engine.choose(Engine.Choice.AUTO, Device.CPU), Device.CPU, MemoryFormat.CONTIGUOUS, Precision.FP32), 5).evaluate(set);
            assertTrue(model.isTraining(), "the model's mode is restored");

            double[][] logits = new double[n][];
            model.train(false);
            try (var noGrad = Torch.noGrad(); Batches all = Batches.evaluation(set, n)) {
                Batches.Batch batch = all.next();
                float[] flat = model.forward(Tensor.fromFloats(batch.images(), n, 3, 32, 32)).toFloatArray();
                for (int i = 0; i < n; i++) {
                    logits[i] = new double[classes];
                    for (int c = 0; c < classes; c++) logits[i][c] = flat[i * classes + c];
                }
            }
            long[][] confusion = new long[classes][classes];
            double loss = 0;
            for (int i = 0; i < n; i++) {
                int predicted = 0;
                double sumExp = 0;
                for (int c = 0; c < classes; c++) {
                    if (logits[i][c] > logits[i][predicted]) predicted = c;
                    sumExp += Math.exp(logits[i][c]);
                }
                loss += Math.log(sumExp) - logits[i][labels[i]];
                confusion[labels[i]][predicted]++;
            }
            assertArrayEquals(confusion, r.confusion(), "one row and one column per class of the model");
            long right = confusion[0][0] + confusion[1][1] + confusion[2][2];
            assertEquals(right, r.correct());
            assertEquals((double) right / n, r.accuracy(), 1e-12);
            assertEquals(loss / n, r.loss(), 1e-5);
            assertEquals(n, r.count());
        }
    }
}
