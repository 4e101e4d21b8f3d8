package dev.graft.engine.backend;

import dev.graft.engine.NDArray;

/** Training-mode batch norm: the output and the per-channel batch mean and biased variance (divide by N*H*W). */
public record BatchNormStats(NDArray output, NDArray mean, NDArray variance) {
}
