package dev.graft.engine.backend.cpu;

import dev.graft.engine.NDArray;
import dev.graft.engine.Scope;
import dev.graft.engine.Shape;
import net.jqwik.api.ForAll;
import net.jqwik.api.GenerationMode;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static dev.graft.engine.backend.cpu.Oracle.CPU;
import static dev.graft.engine.backend.cpu.Oracle.REF;
import static dev.graft.engine.backend.cpu.Oracle.assertExact;
import static dev.graft.engine.backend.cpu.Oracle.cpu;
import static dev.graft.engine.backend.cpu.Oracle.random;
import static dev.graft.engine.backend.cpu.Oracle.ref64;

/**
 * The attention-side kernels on cpu against the reference in F64 at DeiT-S's and Swin-T's sizes, with the tolerances
 * of {@link CpuTransformerOpsProperties} (summation bound gamma(K) * sum|a||b| for the products, the softmax bounds
 * stated there, exact copies); the products and softmax at batch 2 by default, batch 32 under -Dgroups=slow. DeiT-S at batch 32: qkv [32, 197, 1152] viewed as [32, 197, 3, 6, 64] and permuted to
 * [3, 32, 6, 197, 64], q @ k^T as [192, 197, 64] x [192, 197, 64]^T, softmax over [192, 197, 197] (scores scaled by
 * 1/8: spread 4), attn @ v, merging heads back, the class token's cat and slice on the token axis. Swin-T's first
 * stage window attention at batch 32: [32 * 64 windows * 3 heads, 49, 32] products, softmax over 49, and the
 * relative position bias lookup [169, 3] -> [2401, 3] with torchvision's index.
 */
class CpuRealisticTransformerOpsProperties {

    /** Batch 2 in the default suite (the per-matrix sizes are the models'); batch 32 under -Dgroups=slow (about 55 s). */
    @Property(generation = GenerationMode.EXHAUSTIVE)
    void deitAttentionProductsMatchReference(@ForAll @IntRange(min = 0, max = 1) int which) {
        deitProducts(2, which);
    }

    @net.jqwik.api.Tag("slow")
    @Property(generation = GenerationMode.EXHAUSTIVE)
    void deitAttentionProductsAtBatch32MatchReference(@ForAll @IntRange(min = 0, max = 1) int which) {
        deitProducts(32, which);
    }

    private static void deitProducts(int batch, int which) {
        if (which == 0) {
            CpuTransformerOpsProperties.bmm(batch * 6, 197, 64, 197, false, true, 11); // q @ k^T
        } else {
            CpuTransformerOpsProperties.bmm(batch * 6, 197, 197, 64, false, false, 12); // attn @ v
        }
    }

    /**
     * The fused linear + GELU of the MLPs' first layer at inference, with {@link CpuTransformerOpsProperties}'s
     * tolerance: DeiT-S's fc1 at batch 2 ([394, 384] x [1536, 384]^T) and Swin-T's first-stage fc1 at batch 2
     * ([6272, 96] x [384, 96]^T).
     */
    @Property(generation = GenerationMode.EXHAUSTIVE)
    void mlpLinearGeluMatchesReference(@ForAll @IntRange(min = 0, max = 1) int which) {
        if (which == 0) {
            CpuTransformerOpsProperties.linearGelu(2 * 197, 384, 1536, 21);
        } else {
            CpuTransformerOpsProperties.linearGelu(2 * 3136, 96, 384, 22);
        }
    }

    /**
     * The fused output projection + residual with {@link CpuTransformerOpsProperties}'s tolerance: DeiT-S's fc2 at
     * batch 2 ([394, 1536] x [384, 1536]^T) and Swin-T's first-stage fc2 at batch 2 ([6272, 384] x [96, 384]^T).
     */
    @Property(generation = GenerationMode.EXHAUSTIVE)
    void residualLinearAddMatchesReference(@ForAll @IntRange(min = 0, max = 1) int which) {
        if (which == 0) {
            CpuTransformerOpsProperties.linearAdd(2 * 197, 1536, 384, 23);
        } else {
            CpuTransformerOpsProperties.linearAdd(2 * 3136, 384, 96, 24);
        }
    }

    @Property(generation = GenerationMode.EXHAUSTIVE)
    void swinWindowProductsMatchReference(@ForAll @IntRange(min = 0, max = 1) int which) {
        swinProducts(2, which);
    }

    @net.jqwik.api.Tag("slow")
    @Property(generation = GenerationMode.EXHAUSTIVE)
    void swinWindowProductsAtBatch32MatchReference(@ForAll @IntRange(min = 0, max = 1) int which) {
        swinProducts(32, which);
    }

    private static void swinProducts(int batch, int which) {
        if (which == 0) {
            CpuTransformerOpsProperties.bmm(batch * 64 * 3, 49, 32, 49, false, true, 21);
        } else {
            CpuTransformerOpsProperties.bmm(batch * 64 * 3, 49, 49, 32, false, false, 22);
        }
    }

    /**
     * DeiT-S's packed attention (qkv [2, 197, 1152], 6 heads of 64) read in place on cpu against the reference's
     * composition, forward and backward, with {@link CpuTransformerOpsProperties#packedAttention}'s tolerances.
     */
    @Test
    void deitPackedAttentionMatchesReference() {
        CpuTransformerOpsProperties.packedAttention(2, 6, 197, 64, 11);
    }

    @Test
    void softmaxAtAttentionSizesMatchesReference() {
        CpuTransformerOpsProperties.softmax(Shape.of(2, 6, 197, 197), 4, 31);
        CpuTransformerOpsProperties.softmax(Shape.of(2 * 64, 3, 49, 49), 4, 32);
    }

    @Tag("slow")
    @Test
    void softmaxAtBatch32MatchesReference() {
        CpuTransformerOpsProperties.softmax(Shape.of(32, 6, 197, 197), 4, 31);
        CpuTransformerOpsProperties.softmax(Shape.of(32 * 64, 3, 49, 49), 4, 32);
    }

    @Test
    void deitLayoutOpsAreExact() {
        try (Scope scope = Scope.open()) {
            Shape qkv = Shape.of(32, 197, 3, 6, 64);
            float[] x = random(qkv.numel(), 41);
            int[] heads = {2, 0, 3, 1, 4};
            NDArray pr = REF.permute(ref64(x, qkv), heads);
            NDArray pc = CPU.permute(cpu(x, qkv), heads);
            assertExact("qkv split into heads", pr, pc);
            for (int part = 0; part < 3; part++) {
                assertExact("q/k/v " + part, REF.narrow(pr, 0, part, 1), CPU.narrow(pc, 0, part, 1));
            }
            Shape o = Shape.of(32, 6, 197, 64);
            float[] y = random(o.numel(), 42);
            assertExact("merge heads", REF.permute(ref64(y, o), new int[] {0, 2, 1, 3}), CPU.permute(cpu(y, o), new int[] {0, 2, 1, 3}));
            Shape tokens = Shape.of(32, 196, 384);
            Shape cls = Shape.of(32, 1, 384);
            float[] t = random(tokens.numel(), 43);
            float[] c = random(cls.numel(), 44);
            NDArray cr = REF.concat(new NDArray[] {ref64(c, cls), ref64(t, tokens)}, 1);
            NDArray cc = CPU.concat(new NDArray[] {cpu(c, cls), cpu(t, tokens)}, 1);
            assertExact("class token cat", cr, cc);
            assertExact("class token slice", REF.narrow(cr, 1, 0, 1), CPU.narrow(cc, 1, 0, 1));
        }
    }

    /** torchvision's relative_position_index for a 7x7 window, in closed form: (dh + 6) * 13 + (dw + 6). */
    static int[] swinRelativePositionIndex(int window) {
        int w2 = window * window;
        int[] index = new int[w2 * w2];
        for (int i = 0; i < w2; i++) {
            for (int j = 0; j < w2; j++) {
                int dh = i / window - j / window + window - 1;
                int dw = i % window - j % window + window - 1;
                index[i * w2 + j] = dh * (2 * window - 1) + dw;
            }
        }
        return index;
    }

    @Test
    void swinBiasLookupIsExactAndItsScatterAddMatchesReference() {
        try (Scope scope = Scope.open()) {
            Shape table = Shape.of(169, 3);
            float[] v = random(table.numel(), 51);
            int[] index = swinRelativePositionIndex(7);
            assertExact("bias gather", REF.indexSelect(ref64(v, table), 0, index), CPU.indexSelect(cpu(v, table), 0, index));
            Shape g = Shape.of(2401, 3);
            float[] dy = random(g.numel(), 52);
            // Each table row receives at most 49 terms (one per window offset pair): gamma(49) * sum|dy|.
            NDArray e = REF.indexSelectBackward(ref64(dy, g), 0, index, table);
            NDArray a = CPU.indexSelectBackward(cpu(dy, g), 0, index, table);
            Oracle.assertClose("bias scatter-add", e, a,
                    Oracle.summationTolerance(49, REF.indexSelectBackward(ref64(Oracle.abs(dy), g), 0, index, table)));
        }
    }
}
