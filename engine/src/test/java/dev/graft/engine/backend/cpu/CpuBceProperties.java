package dev.graft.engine.backend.cpu;

import dev.graft.engine.DType;
import dev.graft.engine.NDArray;
import dev.graft.engine.Scope;
import dev.graft.engine.Shape;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

import java.util.Random;

import static dev.graft.engine.backend.cpu.Oracle.CPU;
import static dev.graft.engine.backend.cpu.Oracle.REF;
import static dev.graft.engine.backend.cpu.Oracle.U;
import static dev.graft.engine.backend.cpu.Oracle.assertClose;
import static dev.graft.engine.backend.cpu.Oracle.assertExact;
import static dev.graft.engine.backend.cpu.Oracle.cpu;
import static dev.graft.engine.backend.cpu.Oracle.ref;
import static dev.graft.engine.backend.cpu.Oracle.ref64;

/**
 * Binary cross-entropy with logits on cpu against the reference at the size a chest X-ray run has: batches up to 64
 * of 14 labels, logits up to +-40, about a fifth of the targets unknown (NaN), with and without positive weights.
 * Both backends read the same float logits and compute in double, so F32 results must be equal bit for bit; against
 * the reference in F64 (no final rounding) each value must be within one rounding, u relative (the double
 * arithmetic's own error, ~1e-16 relative, is far below).
 *
 * <p>What this can and cannot catch: {@link dev.graft.engine.functions.BceWithLogitsFunction} calls one host
 * implementation (a {@code Backend} default method) on every backend, so cpu and reference run the same arithmetic
 * here and this property guards only the cpu path's copies, layouts and dtype handling. The arithmetic itself is held
 * to torch's {@code BCEWithLogitsLoss} ({@code BceWithLogitsTest}) and to F64 finite differences
 * ({@code LossGradientProperties.bceWithLogitsGradients}).
 */
class CpuBceProperties {

    @Property(tries = 40)
    void bceMatchesReference(@ForAll @IntRange(min = 1, max = 64) int n, @ForAll @IntRange(min = 1, max = 14) int labels,
                             @ForAll @IntRange(min = 0, max = 40) int scale, @ForAll boolean weighted, @ForAll long seed) {
        Shape s = Shape.of(n, labels);
        Random r = new Random(seed);
        float[] x = new float[n * labels];
        float[] y = new float[n * labels];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) ((r.nextDouble() * 2 - 1) * scale);
            double u = r.nextDouble();
            y[i] = u < 0.2 ? Float.NaN : u < 0.5 ? 1 : 0;
        }
        float[] pw = null;
        if (weighted) {
            pw = new float[labels];
            for (int j = 0; j < labels; j++) {
                pw[j] = 0.1f + 10 * r.nextFloat();
            }
        }
        try (Scope scope = Scope.open()) {
            assertExact("bce " + s, REF.bceWithLogits(ref(x, s), y, pw), CPU.bceWithLogits(cpu(x, s), y, pw));
            NDArray e64 = REF.bceWithLogits(ref64(x, s), y, pw);
            assertClose("bce vs F64 " + s, e64, CPU.bceWithLogits(cpu(x, s), y, pw),
                    new double[] {U * Math.abs(e64.toDoubleArray()[0])});

            float[] g = {0.7f};
            NDArray ge = REF.bceWithLogitsBackward(ref(g, Shape.scalar()), ref(x, s), y, pw);
            NDArray gc = CPU.bceWithLogitsBackward(cpu(g, Shape.scalar()), cpu(x, s), y, pw);
            assertExact("bce backward " + s, ge, gc);
            NDArray g64 = REF.bceWithLogitsBackward(REF.fromHost(new double[] {0.7f}, Shape.scalar(), DType.F64),
                    ref64(x, s), y, pw);
            double[] want = g64.toDoubleArray();
            double[] tol = new double[want.length];
            for (int i = 0; i < tol.length; i++) {
                tol[i] = U * Math.abs(want[i]);
            }
            assertClose("bce backward vs F64 " + s, g64, gc, tol);
        }
    }
}
