package dev.graft.engine.gradients;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;

/** Shape generators that shrink towards low rank and size 1. */
final class Shapes {
    private Shapes() {
    }

    /** Shapes of rank minRank..maxRank with sizes 1..maxSize. */
    static Arbitrary<int[]> dims(int minRank, int maxRank, int maxSize) {
        return Arbitraries.integers().between(1, maxSize).list().ofMinSize(minRank).ofMaxSize(maxRank)
                .map(l -> l.stream().mapToInt(Integer::intValue).toArray());
    }
}
