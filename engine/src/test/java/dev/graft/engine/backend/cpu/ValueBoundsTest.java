package dev.graft.engine.backend.cpu;

import dev.graft.engine.NDArray;
import dev.graft.engine.Scope;
import dev.graft.engine.Shape;
import dev.graft.engine.backend.Conv2dSpec;
import dev.graft.engine.backend.Pool2dSpec;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;
import java.util.function.Consumer;

import static dev.graft.engine.backend.cpu.Oracle.CPU;
import static dev.graft.engine.backend.cpu.Oracle.REF;
import static dev.graft.engine.backend.cpu.Oracle.cpu;
import static dev.graft.engine.backend.cpu.Oracle.random;
import static dev.graft.engine.backend.cpu.Oracle.ref64;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The bounds that let the fused inference convolution and max pooling skip scanning their inputs for NaN and
 * infinities ({@link ValueBounds}): a recorded bound must hold for every value it covers, and must be forgotten when
 * the buffer is written, or a NaN written later would reach oneDNN's relu post-op (which makes it 0) or its max
 * pooling (which skips it).
 */
class ValueBoundsTest {
    private static final ValueBounds BOUNDS = ((CpuBackend) CPU).bounds();

    /**
     * The bound recorded for a fused convolution's output is at least the largest |conv(x, w) + bias + residual|,
     * computed in F64 by the reference (the relu only lowers values): for operands whose magnitudes span 10^-3 to 10^6
     * (a scan's bound is 2^16 up to there, the largest |value| beyond) and reductions up to 3 * 3 * 8 terms, and again
     * for a second convolution that reads the first one's output (a derived bound in, no scan).
     */
    @Property(tries = 60)
    void recordedBoundsHoldEveryValue(@ForAll long seed, @ForAll @IntRange(min = -3, max = 6) int scale) {
        Random r = new Random(seed);
        int c = 1 + r.nextInt(8);
        int k = 1 + r.nextInt(8);
        int kernel = 1 + 2 * r.nextInt(2);
        Shape xs = Shape.of(1 + r.nextInt(2), c, 3 + r.nextInt(5), 3 + r.nextInt(5));
        Shape ws = Shape.of(k, c, kernel, kernel);
        Conv2dSpec spec = Conv2dSpec.of(1, kernel / 2);
        Shape ys = Shape.of(xs.dim(0), k, xs.dim(2), xs.dim(3));
        double m = Math.pow(10, scale);
        float[] x = scaled(random(xs.numel(), r.nextLong()), m);
        float[] w = scaled(random(ws.numel(), r.nextLong()), 1 / Math.sqrt(m));
        float[] b = scaled(random(k, r.nextLong()), m);
        float[] res = scaled(random(ys.numel(), r.nextLong()), m);
        try (Scope s = Scope.open()) {
            NDArray y = CPU.conv2dInference(cpu(x, xs, true), cpu(w, ws), cpu(b, Shape.of(k)), cpu(res, ys, true), true, spec, null);
            double[] exact = REF.add(REF.conv2d(ref64(x, xs), ref64(w, ws), ref64(b, Shape.of(k)), spec), ref64(res, ys)).toDoubleArray();
            assertBounds("first convolution " + xs + " " + ws, exact, BOUNDS.recorded(y));

            // A second convolution on y: its operand's bound is the derived one above.
            Shape w2s = Shape.of(k, k, kernel, kernel);
            float[] w2 = scaled(random(w2s.numel(), r.nextLong()), 1 / Math.sqrt(m));
            NDArray z = CPU.conv2dInference(y, cpu(w2, w2s), null, null, false, spec, null);
            double[] yv = y.toDoubleArray();
            float[] yf = new float[yv.length];
            for (int i = 0; i < yf.length; i++) {
                yf[i] = (float) yv[i];
            }
            double[] exact2 = REF.conv2d(ref64(yf, ys), ref64(w2, w2s), null, spec).toDoubleArray();
            assertBounds("second convolution", exact2, BOUNDS.recorded(z));
        }
    }

    private static void assertBounds(String what, double[] values, double bound) {
        double max = Arrays.stream(values).map(Math::abs).max().orElse(0);
        assertTrue(bound < Double.POSITIVE_INFINITY, what + ": no bound recorded");
        assertTrue(max <= bound, what + ": |value| " + max + " exceeds the recorded bound " + bound);
    }

    private static float[] scaled(float[] v, double factor) {
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (v[i] * factor);
        }
        return v;
    }

    /**
     * Weights so large that a sum could overflow leave the result without a bound (the call took the path that keeps
     * NaN), and so does a NaN in x.
     */
    @Test
    void noBoundWhereASumCouldOverflowOrAnOperandIsNotFinite() {
        try (Scope s = Scope.open()) {
            Shape xs = Shape.of(1, 2, 1, 1);
            Shape ws = Shape.of(1, 2, 1, 1);
            NDArray y = CPU.conv2dInference(cpu(new float[] {1e30f, 1e30f}, xs), cpu(new float[] {1e30f, -1e30f}, ws), null, null,
                    true, Conv2dSpec.of(1, 0), null);
            assertEquals(Double.POSITIVE_INFINITY, BOUNDS.recorded(y));
            NDArray z = CPU.conv2dInference(cpu(new float[] {Float.NaN, 1}, xs), cpu(new float[] {1, 1}, ws), null, null,
                    true, Conv2dSpec.of(1, 0), null);
            assertEquals(Double.POSITIVE_INFINITY, BOUNDS.recorded(z));
            assertTrue(Float.isNaN(z.toFloatArray()[0]), "relu(NaN + 1) must be NaN");
        }
    }

    /**
     * Every way of writing into an array forgets its bound: after NaN is written into a fused convolution's output
     * (which has a recorded bound), a fused convolution with relu and a max pooling of it give NaN.
     */
    @Test
    void writesForgetTheBound() {
        Shape xs = Shape.of(1, 2, 4, 4);
        float[] nans = new float[xs.numel()];
        Arrays.fill(nans, Float.NaN);
        check("copyFromHost", xs, a -> CPU.copyFromHost(a, nans));
        check("fill", xs, a -> CPU.fill(a, Double.NaN));
        check("copyInto", xs, a -> CPU.copyInto(a, cpu(nans, xs)));
        check("scaleInPlace", xs, a -> CPU.scaleInPlace(a, Double.NaN));
        check("axpyInPlace", xs, a -> CPU.axpyInPlace(a, 1, cpu(nans, xs)));
        check("conv2dInference into it", xs, a -> CPU.conv2dInference(cpu(nans, xs), cpu(new float[] {1, 0, 0, 1}, Shape.of(2, 2, 1, 1)),
                null, null, false, Conv2dSpec.of(1, 0), a));
    }

    private static void check(String writer, Shape xs, Consumer<NDArray> write) {
        try (Scope s = Scope.open()) {
            NDArray w = cpu(new float[] {1, 0, 0, 1}, Shape.of(2, 2, 1, 1)); // identity 1x1 convolution
            NDArray a = CPU.conv2dInference(cpu(random(xs.numel(), 5), xs, true), w, null, null, true, Conv2dSpec.of(1, 0), null);
            assertTrue(BOUNDS.recorded(a) < Double.POSITIVE_INFINITY, "the fused convolution records a bound");
            write.accept(a);
            float[] conv = CPU.conv2dInference(a, w, null, null, true, Conv2dSpec.of(1, 0), null).toFloatArray();
            float[] pooled = CPU.maxPool2d(a, Pool2dSpec.of(2, 2, 0), false).output().toFloatArray();
            for (float v : conv) {
                assertTrue(Float.isNaN(v), writer + ": relu(conv) of NaN gave " + v);
            }
            for (float v : pooled) {
                assertTrue(Float.isNaN(v), writer + ": max pooling of NaN gave " + v);
            }
        }
    }
}
