package dev.graft.engine.backend.cuda;

import dev.graft.engine.NDArray;
import dev.graft.engine.Scope;
import dev.graft.engine.Shape;
import dev.graft.engine.backend.Backend;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static dev.graft.engine.backend.cuda.CudaTesting.assertNear;
import static dev.graft.engine.backend.cuda.CudaTesting.pair;
import static dev.graft.engine.backend.cuda.CudaTesting.tol;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * The attention-side transformer kernels on cuda against the reference (GPU F32 vs reference F64 on the same float
 * inputs): strided-batched SGEMM in all four transpose combinations at DeiT-S's and Swin-T's per-head sizes, cuDNN's
 * accurate softmax and its backward, permute (the broadcast kernel times ones), cat and narrow on every axis and
 * index_select (copies: exact). Tolerances: {@link CudaTesting#tol} for K terms (K the inner size for the products,
 * C for softmax, C + 2 for its backward). Written without a GPU at hand: not yet run on one.
 */
@Tag("gpu")
class CudaTransformerOpsTest {
    private CudaBackend gpu;
    private Backend ref;

    @BeforeEach
    void device() {
        gpu = CudaTesting.cuda();
        ref = CudaTesting.ref();
    }

    @Test
    void batchedGemmMatchesTheReference() {
        Random r = new Random(31);
        int[][] cases = {{3, 5, 4, 6}, {12, 197, 64, 197}, {12, 197, 197, 64}, {96, 49, 32, 49}};
        for (int[] c : cases) {
            for (int t = 0; t < 4; t++) {
                boolean ta = (t & 1) != 0;
                boolean tb = (t & 2) != 0;
                int batch = c[0], m = c[1], k = c[2], n = c[3];
                try (Scope s = Scope.open()) {
                    NDArray[] a = pair(gpu, r, ta ? new int[] {batch, k, m} : new int[] {batch, m, k});
                    NDArray[] b = pair(gpu, r, tb ? new int[] {batch, n, k} : new int[] {batch, k, n});
                    assertNear("bmm " + java.util.Arrays.toString(c) + " transA " + ta + " transB " + tb,
                            gpu.batchedGemm(a[0], b[0], ta, tb), ref.batchedGemm(a[1], b[1], ta, tb), tol(k));
                }
            }
        }
    }

    @Test
    void softmaxAndBackwardMatchTheReference() {
        Random r = new Random(32);
        for (int[] shape : new int[][] {{2, 3, 7}, {2, 6, 197, 197}, {64, 3, 49, 49}}) {
            try (Scope s = Scope.open()) {
                NDArray[] x = pair(gpu, r, shape);
                NDArray y = ref.softmax(x[1]);
                int c = shape[shape.length - 1];
                assertNear("softmax " + Shape.of(shape), gpu.softmax(x[0]), y, tol(c));
                NDArray[] dy = pair(gpu, r, shape);
                NDArray[] yy = pair(gpu, y.toFloatArray(), shape);
                assertNear("softmax backward " + Shape.of(shape), gpu.softmaxBackward(dy[0], yy[0]), ref.softmaxBackward(dy[1], yy[1]),
                        tol(c + 2));
            }
        }
    }

    @Test
    void layoutOpsAreExactCopies() {
        Random r = new Random(33);
        int[] shape = {2, 5, 3, 4, 6};
        int[][] perms = {{2, 0, 3, 1, 4}, {0, 2, 1, 3, 4}, {4, 3, 2, 1, 0}, {0, 1, 2, 4, 3}};
        try (Scope s = Scope.open()) {
            NDArray[] x = pair(gpu, r, shape);
            for (int[] p : perms) {
                assertArrayEquals(ref.permute(x[1], p).toFloatArray(), gpu.permute(x[0], p).toFloatArray(),
                        "permute " + java.util.Arrays.toString(p));
            }
            for (int axis = 0; axis < shape.length; axis++) {
                int[] o = shape.clone();
                o[axis] = 2;
                NDArray[] y = pair(gpu, r, o);
                assertArrayEquals(ref.concat(new NDArray[] {x[1], y[1]}, axis).toFloatArray(),
                        gpu.concat(new NDArray[] {x[0], y[0]}, axis).toFloatArray(), "cat axis " + axis);
                int len = shape[axis];
                assertArrayEquals(ref.narrow(x[1], axis, len / 2, len - len / 2).toFloatArray(),
                        gpu.narrow(x[0], axis, len / 2, len - len / 2).toFloatArray(), "narrow axis " + axis);
                int[] index = {len - 1, 0, len - 1};
                assertArrayEquals(ref.indexSelect(x[1], axis, index).toFloatArray(), gpu.indexSelect(x[0], axis, index).toFloatArray(),
                        "index_select axis " + axis);
            }
        }
    }
}
