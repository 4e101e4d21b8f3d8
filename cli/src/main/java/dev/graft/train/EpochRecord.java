package dev.graft.train;

/** One epoch of history: which phase, training loss and accuracy, validation figures, peak learning rate, speed. */
public record EpochRecord(String phase, int epoch, double trainLoss, double trainAccuracy, double valLoss,
                          double valAccuracy, double valAuc, double lr, double seconds, double imagesPerSecond,
                          boolean cachedFeatures) {
}
