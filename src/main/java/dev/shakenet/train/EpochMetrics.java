package dev.shakenet.train;

/**
 * One line of metrics.jsonl. Accuracies are fractions; train figures are over the augmented
 * batches as trained (the model changing along the way); test figures are null in epochs
 * without an evaluation; seconds is the epoch's wall time, evaluation included; skippedSteps
 * counts the updates skipped for an inf or NaN (nonfinite: skip), whose batches the train
 * figures leave out. A value that is not finite is written as null.
 */
public record EpochMetrics(int epoch, double lr, double trainLoss, double trainAccuracy, Double testLoss, Double testAccuracy,
                           double imagesPerSecond, double seconds, long skippedSteps) {}
