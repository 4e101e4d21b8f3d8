package dev.graft.tests.differential;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.ShrinkingMode;
import net.jqwik.api.Tag;

/**
 * The differential harness on networks with a transformer token-MLP block ({@link TokenMlpDraw}): cpu F32 against
 * the reference in F64 with {@link NetworkDifferential}'s criterion. A few draws in the default suite;
 * {@code -Dgroups=fuzz} runs 100.
 */
class TokenMlpFuzzProperties {

    /**
     * Batch 1-4, a grid of 1-6 x 1-6 patches of 2-4 pixels, embed 2-24, hidden 2-64, 2-10 classes; the roll by 0-3
     * (0: none), grid padding on or off, GELU exact or tanh, layer-norm eps 1e-6 (timm's) or 1e-5 (torchvision's).
     */
    @Provide
    Arbitrary<TokenMlpDraw> draws() {
        Arbitrary<int[]> sizes = Combinators.combine(Arbitraries.integers().between(1, 4), Arbitraries.integers().between(1, 6),
                        Arbitraries.integers().between(1, 6), Arbitraries.integers().between(2, 4), Arbitraries.integers().between(2, 24),
                        Arbitraries.integers().between(2, 64), Arbitraries.integers().between(2, 10), Arbitraries.integers().between(0, 3))
                .as((n, h, w, patch, embed, hidden, classes, shift) -> new int[] {n, h, w, patch, embed, hidden, classes, shift});
        return Combinators.combine(sizes, Arbitraries.of(true, false), Arbitraries.of(true, false), Arbitraries.of(1e-6, 1e-5),
                        Arbitraries.longs())
                .as((z, pad, tanh, eps, seed) -> new TokenMlpDraw(z[0], z[1], z[2], z[3], z[4], z[5], z[6], z[7], pad, tanh, eps, seed));
    }

    @Property(tries = 4, shrinking = ShrinkingMode.FULL)
    void cpuMatchesFloat64WithATokenMlpBlock(@ForAll("draws") TokenMlpDraw c) {
        NetworkFuzzProperties.check(c);
    }

    @Property(tries = 100, shrinking = ShrinkingMode.FULL)
    @Tag("fuzz")
    void cpuMatchesFloat64WithATokenMlpBlockLong(@ForAll("draws") TokenMlpDraw c) {
        NetworkDifferential.Outcome o = NetworkFuzzProperties.check(c);
        System.out.printf("fuzz: margin %.3f: %s%n", o.margin(), c);
    }

    /** The bf16 arm (linear layers and, with attention, the batched matmuls in bf16): the reference's bf16 oracle. */
    @Property(tries = 3, shrinking = ShrinkingMode.FULL)
    void cpuBf16MatchesBf16ReferenceWithATokenMlpBlock(@ForAll("draws") TokenMlpDraw c) {
        NetworkFuzzProperties.check(c, dev.graft.engine.Precision.BF16);
    }
}
