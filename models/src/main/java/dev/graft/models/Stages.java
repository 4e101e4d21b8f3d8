package dev.graft.models;

import dev.graft.engine.Scope;
import dev.graft.engine.Tensor;

import java.util.function.Supplier;
import java.util.function.UnaryOperator;

/**
 * Runs a piece of a forward pass (a convolution and its batch norm, a residual block) in a
 * {@link Scope#openIntermediates} scope and keeps only its result: what no backward pass reads is freed as the
 * piece returns, what one reads is freed once it has. Only for pieces whose intermediate tensors no caller sees.
 */
final class Stages {
    private Stages() {
    }

    static Tensor run(Supplier<Tensor> piece) {
        try (Scope s = Scope.openIntermediates("stage")) {
            return s.keep(piece.get());
        }
    }

    /**
     * As {@link #run(Supplier)}, and {@code input}, an intermediate of an earlier piece that nothing reads after
     * this one, goes with this piece's intermediates: a chain of pieces holds one link's values at a time.
     */
    static Tensor consume(Tensor input, UnaryOperator<Tensor> piece) {
        try (Scope s = Scope.openIntermediates("stage")) {
            Scope.moveTo(s, input);
            return s.keep(piece.apply(input));
        }
    }
}
