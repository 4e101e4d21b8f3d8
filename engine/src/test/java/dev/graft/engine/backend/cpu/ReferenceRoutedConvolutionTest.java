package dev.graft.engine.backend.cpu;

import dev.graft.engine.DType;
import dev.graft.engine.Device;
import dev.graft.engine.Functional;
import dev.graft.engine.Scope;
import dev.graft.engine.Shape;
import dev.graft.engine.Tensor;
import dev.graft.engine.backend.Backends;
import dev.graft.engine.backend.Conv2dSpec;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Regressions: oneDNN's brgemm convolution crashed the JVM (SIGSEGV in perform_outwork) when an output column
 * read only padding, and returned wrong forward values for one input channel with stride 1 along H and more
 * along W. These shapes take the exact fallback (plain, through autograd, and fused for inference) and must match
 * the reference backend.
 */
class ReferenceRoutedConvolutionTest {

    @Test
    void outputsThatReadOnlyPaddingMatchTheReference() {
        assumeTrue(Backends.availability(Device.Kind.CPU).available(), "oneDNN unavailable");
        // The shape BadInputProperties found, then two more of the same kind (H only, W only).
        check(new int[] {2, 6, 3, 1}, new int[] {6, 3, 2, 1}, new Conv2dSpec(1, 2, 1, 1, 2, 2, 2));
        check(new int[] {1, 2, 1, 4}, new int[] {3, 2, 1, 2}, new Conv2dSpec(1, 1, 2, 0, 1, 1, 1));
        check(new int[] {1, 1, 5, 2}, new int[] {2, 1, 3, 1}, new Conv2dSpec(2, 3, 1, 2, 1, 1, 1));
    }

    @Test
    void oneInputChannelWithAWiderStrideAlongWMatchesTheReference() {
        assumeTrue(Backends.availability(Device.Kind.CPU).available(), "oneDNN unavailable");
        // What CpuFusedConvolutionProperties shrank to (0.330 came back where 0.602 is right), the sample it started
        // from, and larger ones of the same kind.
        check(new int[] {1, 1, 2, 1}, new int[] {1, 1, 2, 2}, new Conv2dSpec(1, 2, 1, 1, 1, 1, 1));
        check(new int[] {3, 1, 9, 1}, new int[] {4, 1, 2, 2}, new Conv2dSpec(1, 3, 1, 1, 3, 1, 1));
        check(new int[] {2, 1, 12, 10}, new int[] {3, 1, 3, 3}, new Conv2dSpec(1, 2, 2, 1, 1, 1, 1));
        checkFused(new int[] {1, 1, 2, 1}, new int[] {1, 1, 2, 2}, new Conv2dSpec(1, 2, 1, 1, 1, 1, 1));
        checkFused(new int[] {2, 1, 12, 10}, new int[] {3, 1, 3, 3}, new Conv2dSpec(1, 2, 2, 1, 1, 1, 1));
    }

    /** conv2dInference (bias, relu) on cpu against conv2d + bias and relu on the reference backend. */
    private static void checkFused(int[] xs, int[] ws, Conv2dSpec spec) {
        Random r = new Random(5);
        float[] x = random(r, xs);
        float[] w = random(r, ws);
        float[] b = random(r, new int[] {ws[0]});
        try (Scope s = Scope.open()) {
            var cpu = Backends.get(Device.CPU);
            var ref = Backends.get(Device.REFERENCE);
            float[] actual = cpu.conv2dInference(cpu.fromHost(x, Shape.of(xs)), cpu.fromHost(w, Shape.of(ws)),
                    cpu.fromHost(b, Shape.of(ws[0])), null, true, spec, null).toFloatArray();
            float[] expected = ref.relu(ref.conv2d(ref.fromHost(x, Shape.of(xs)), ref.fromHost(w, Shape.of(ws)),
                    ref.fromHost(b, Shape.of(ws[0])), spec)).toFloatArray();
            for (int j = 0; j < expected.length; j++) {
                org.junit.jupiter.api.Assertions.assertEquals(expected[j], actual[j], 1e-6 * (1 + Math.abs(expected[j])),
                        "fused output element " + j);
            }
        }
    }

    private static void check(int[] xs, int[] ws, Conv2dSpec spec) {
        float[][] cpu = run(Device.CPU, xs, ws, spec);
        float[][] ref = run(Device.REFERENCE, xs, ws, spec);
        for (int i = 0; i < cpu.length; i++) {
            // Both sides compute on the reference kernels (the cpu side rounds through F32 once more): 1e-6.
            float[] a = cpu[i];
            float[] b = ref[i];
            for (int j = 0; j < a.length; j++) {
                org.junit.jupiter.api.Assertions.assertEquals(b[j], a[j], 1e-6 * (1 + Math.abs(b[j])), "output " + i + " element " + j);
            }
        }
        assertArrayEquals(new int[] {ref.length}, new int[] {cpu.length});
    }

    private static float[][] run(Device d, int[] xs, int[] ws, Conv2dSpec spec) {
        try (Scope s = Scope.open()) {
            Random r = new Random(3);
            Tensor x = Tensor.fromArray(d, random(r, xs), xs).requiresGrad(true);
            Tensor w = Tensor.fromArray(d, random(r, ws), ws).requiresGrad(true);
            Tensor b = Tensor.fromArray(d, random(r, new int[] {ws[0]}), ws[0]).requiresGrad(true);
            Tensor y = Functional.conv2d(x, w, b, spec);
            Tensor proj = Tensor.fromArray(d, random(r, y.shape().dims()), y.shape().dims());
            Functional.sum(Functional.mul(y, proj)).backward();
            return new float[][] {y.toFloatArray(), x.grad().toFloatArray(), w.grad().toFloatArray(), b.grad().toFloatArray()};
        }
    }

    private static float[] random(Random r, int[] shape) {
        int n = 1;
        for (int s : shape) {
            n *= s;
        }
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) r.nextGaussian();
        }
        return v;
    }
}
