package dev.graft.engine.backend;

import dev.graft.engine.NDArray;

/** Gradients of batch norm; an entry is null when it was not asked for. */
public record BatchNormGrads(NDArray input, NDArray weight, NDArray bias) {
}
