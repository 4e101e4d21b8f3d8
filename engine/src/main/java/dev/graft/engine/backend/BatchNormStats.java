package dev.graft.engine.backend;

import dev.graft.engine.NDArray;

/**
 * Training-mode batch norm: the output and the per-channel batch mean and biased variance (divide by N*H*W), and
 * for {@link Backend#batchNormTrainingRelu} whatever its backward needs besides (a relu mask; null when none).
 */
public record BatchNormStats(NDArray output, NDArray mean, NDArray variance, Buffer workspace) {
    public BatchNormStats(NDArray output, NDArray mean, NDArray variance) {
        this(output, mean, variance, null);
    }
}
