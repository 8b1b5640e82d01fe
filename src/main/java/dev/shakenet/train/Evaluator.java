package dev.shakenet.train;

import dev.shakenet.data.Batches;
import dev.shakenet.data.ImageSet;
import dev.shakenet.nn.Network;
import dev.shakenet.torch.DType;
import dev.shakenet.torch.Device;
import dev.shakenet.torch.Functional;
import dev.shakenet.torch.Tensor;
import dev.shakenet.torch.TensorScope;
import dev.shakenet.torch.Torch;

/** Test-set loss, accuracy and confusion matrix of a model in eval mode (BN running statistics, shake 0.5), without autograd. */
public final class Evaluator {
    /**
     * Mean cross-entropy and accuracy over {@code count} images; confusion[t][p] counts images of
     * class t predicted as p.
     */
    public record Result(double loss, double accuracy, long correct, int count, long[][] confusion, double seconds) {
        /** Accuracy of each true class (NaN for a class with no images). */
        public double[] perClassAccuracy() {
            double[] out = new double[confusion.length];
            for (int t = 0; t < confusion.length; t++) {
                long total = 0;
                for (long v : confusion[t]) total += v;
                out[t] = total == 0 ? Double.NaN : (double) confusion[t][t] / total;
            }
            return out;
        }

        /** The result over every rank's slice of the test set (every rank calls it at the same point). */
        Result summedOver(DataParallel dp) {
            int classes = confusion.length;
            double[] mine = new double[2 + classes * classes];
            mine[0] = loss * count;
            mine[1] = count;
            for (int t = 0; t < classes; t++) for (int p = 0; p < classes; p++) mine[2 + t * classes + p] = confusion[t][p];
            double[] all = dp.sum(mine);
            long[][] summed = new long[classes][classes];
            long right = 0;
            for (int t = 0; t < classes; t++) {
                for (int p = 0; p < classes; p++) summed[t][p] = (long) all[2 + t * classes + p];
                right += summed[t][t];
            }
            int total = (int) all[1];
            return new Result(all[0] / total, (double) right / total, right, total, summed, seconds);
        }
    }

    private final ForwardPass forward;
    private final int batchSize;

    /** Feeds the model as {@code forward} does (the training run's device, layout and precision), {@code batchSize} images at a time. */
    public Evaluator(ForwardPass forward, int batchSize) {
        this.forward = forward;
        this.batchSize = batchSize;
    }

    public Result evaluate(ImageSet set) {
        return evaluate(set, true);
    }

    /** As above; with {@code stoppable} false a stop request does not end it (a data-parallel run acts on it after). */
    Result evaluate(ImageSet set, boolean stoppable) {
        long start = System.nanoTime();
        Network model = forward.model();
        Device device = forward.device();
        boolean wasTraining = model.isTraining();
        model.train(false);
        int classes = model.classes();
        long[][] confusion = new long[classes][classes];
        try (TensorScope scope = TensorScope.open(); var noGrad = Torch.noGrad(); Batches batches = Batches.evaluation(set, batchSize, device.isCuda())) {
            Tensor lossSum = Tensor.zeros(DType.FLOAT64, device);
            while (batches.hasNext()) {
                if (stoppable) StopRequest.check();
                Batches.Batch batch = batches.next();
                try (TensorScope step = TensorScope.open()) {
                    ForwardPass.DeviceBatch onDevice = forward.upload(batch);
                    Tensor logits = forward.forward(onDevice.images());
                    lossSum.addInPlace(Functional.crossEntropy(logits, onDevice.labels()).mul(batch.size()));
                    long[] predicted = Functional.argmax(logits, 1).to(Device.CPU).toLongArray();
                    for (int i = 0; i < batch.size(); i++) confusion[(int) batch.labels()[i]][(int) predicted[i]]++;
                }
            }
            long right = 0;
            for (int c = 0; c < classes; c++) right += confusion[c][c];
            return new Result(lossSum.item() / set.count(), (double) right / set.count(), right, set.count(), confusion,
                    (System.nanoTime() - start) / 1e9);
        } finally {
            model.train(wasTraining);
        }
    }
}
