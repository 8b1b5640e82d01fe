package dev.shakenet.train;

/**
 * One line of metrics.jsonl. Accuracies are fractions; train figures are over the augmented
 * batches as trained (the model changing along the way); test figures are null in epochs
 * without an evaluation; seconds is the epoch's wall time, evaluation included.
 */
public record EpochMetrics(int epoch, double lr, double trainLoss, double trainAccuracy, Double testLoss, Double testAccuracy,
                           double imagesPerSecond, double seconds) {}
