package dev.graft.engine.backend.cuda;

import dev.graft.engine.Layout;
import dev.graft.engine.NDArray;
import dev.graft.engine.Scope;
import dev.graft.engine.Shape;
import dev.graft.engine.backend.Backend;
import dev.graft.engine.backend.BatchNormGrads;
import dev.graft.engine.backend.BatchNormStats;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static dev.graft.engine.backend.cuda.CudaTesting.assertNear;
import static dev.graft.engine.backend.cuda.CudaTesting.pair;
import static dev.graft.engine.backend.cuda.CudaTesting.tol;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * Layer norm, GELU, roll and zero padding on cuda (transformer.cu's NVRTC kernels; strided device copies) against
 * the reference (GPU F32 vs reference F64 on the same float inputs), at small odd shapes and at DeiT-S / Swin-T
 * sizes. Tolerances: {@link CudaTesting#tol} for k terms (k = 2C for a layer-norm row, the rows for the weight and
 * bias gradients, a handful for GELU's float erff / tanhf); roll, pad and crop are copies and must be exact.
 * Written and compiled without a GPU at hand: not yet run.
 */
@Tag("gpu")
class CudaNormActivationOpsTest {
    private CudaBackend gpu;
    private Backend ref;

    @BeforeEach
    void device() {
        gpu = CudaTesting.cuda();
        ref = CudaTesting.ref();
    }

    @Test
    void layerNormMatchesTheReference() {
        Random r = new Random(31);
        for (int[] shape : new int[][] {{3, 5}, {2, 3, 7}, {2, 4, 300}, {32, 197, 384}, {8, 56, 56, 96}}) {
            try (Scope s = Scope.open()) {
                Shape xs = Shape.of(shape);
                int c = shape[shape.length - 1];
                int rows = xs.numel() / c;
                NDArray[] x = pair(gpu, r, shape);
                NDArray[] w = pair(gpu, r, c);
                NDArray[] b = pair(gpu, r, c);
                NDArray[] dy = pair(gpu, r, shape);
                BatchNormStats e = ref.layerNorm(x[1], w[1], b[1], 1e-5);
                BatchNormStats a = gpu.layerNorm(x[0], w[0], b[0], 1e-5);
                String what = "layer norm " + xs;
                assertNear(what, a.output(), e.output(), tol(2L * c));
                BatchNormGrads eg = ref.layerNormBackward(dy[1], x[1], w[1], e.mean(), e.variance(), 1e-5, true, true);
                BatchNormGrads ag = gpu.layerNormBackward(dy[0], x[0], w[0], a.mean(), a.variance(), 1e-5, true, true);
                assertNear(what + " dx", ag.input(), eg.input(), tol(4L * c));
                assertNear(what + " dweight", ag.weight(), eg.weight(), tol(rows));
                assertNear(what + " dbias", ag.bias(), eg.bias(), tol(rows));
            }
        }
    }

    @Test
    void geluMatchesTheReference() {
        Random r = new Random(32);
        for (boolean tanh : new boolean[] {false, true}) {
            for (int[] shape : new int[][] {{7, 3}, {2, 3, 5, 5}, {32, 197, 1536}}) {
                try (Scope s = Scope.open()) {
                    float[] v = CudaTesting.uniform(r, Shape.of(shape).numel());
                    for (int i = 0; i < v.length; i++) {
                        v[i] *= 4;
                    }
                    NDArray[] x = pair(gpu, v, shape);
                    NDArray[] dy = pair(gpu, r, shape);
                    String what = (tanh ? "gelu tanh " : "gelu ") + Shape.of(shape);
                    NDArray xg = shape.length == 4 ? gpu.toLayout(x[0], Layout.CHANNELS_LAST) : x[0];
                    assertNear(what, gpu.gelu(xg, tanh), ref.gelu(x[1], tanh), tol(8));
                    assertNear(what + " backward", gpu.geluBackward(dy[0], xg, tanh), ref.geluBackward(dy[1], x[1], tanh), tol(8));
                }
            }
        }
    }

    @Test
    void rollPadAndCropAreExactCopies() {
        Random r = new Random(33);
        try (Scope s = Scope.open()) {
            int[] shape = {4, 56, 56, 96};
            NDArray[] x = pair(gpu, r, shape);
            int[] shifts = {53, 53};
            int[] axes = {1, 2};
            exact("roll", gpu.roll(x[0], shifts, axes), ref.roll(x[1], shifts, axes));
            int[] before = {0, 1, 0, 0};
            int[] after = {0, 6, 7, 0};
            NDArray padded = gpu.pad(x[0], before, after);
            exact("pad", padded, ref.pad(x[1], before, after));
            exact("crop", gpu.crop(padded, before, Shape.of(shape)), x[1]);
            NDArray[] small = pair(gpu, r, 2, 3, 4, 5);
            exact("roll every axis", gpu.roll(small[0], new int[] {1, 2, 3, 4}, new int[] {0, 1, 2, 3}),
                    ref.roll(small[1], new int[] {1, 2, 3, 4}, new int[] {0, 1, 2, 3}));
        }
    }

    private static void exact(String what, NDArray gpu, NDArray ref) {
        double[] e = ref.toDoubleArray();
        float[] g = gpu.toFloatArray();
        double[] gd = new double[g.length];
        for (int i = 0; i < g.length; i++) {
            gd[i] = g[i];
        }
        assertArrayEquals(e, gd, 0, what);
    }
}
