package dev.graft.engine.backend.cuda;

import dev.graft.engine.DType;
import dev.graft.engine.Layout;
import dev.graft.engine.NDArray;
import dev.graft.engine.Scope;
import dev.graft.engine.Shape;
import dev.graft.engine.backend.AdamWSpec;
import dev.graft.engine.backend.Backend;
import dev.graft.engine.backend.BatchNormGrads;
import dev.graft.engine.backend.BatchNormStats;
import dev.graft.engine.backend.Pool2dSpec;
import dev.graft.engine.backend.SgdSpec;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static dev.graft.engine.backend.cuda.CudaTesting.assertNear;
import static dev.graft.engine.backend.cuda.CudaTesting.assertUlps;
import static dev.graft.engine.backend.cuda.CudaTesting.pair;
import static dev.graft.engine.backend.cuda.CudaTesting.tol;
import static dev.graft.engine.backend.cuda.CudaTesting.uniform;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every non-convolution kernel of the cuda backend against the reference backend (GPU F32 vs reference F64 on the
 * same float inputs), seeded random shapes. Tolerances: {@link CudaTesting#tol} for reductions of k terms,
 * a few ulps for single roundings, exact where no arithmetic happens.
 */
@Tag("gpu")
class CudaKernelParityTest {
    private CudaBackend gpu;
    private Backend ref;

    @BeforeEach
    void device() {
        gpu = CudaTesting.cuda();
        ref = CudaTesting.ref();
    }

    @Test
    void hostRoundTripsAndLayoutsAreExact() {
        Random r = new Random(1);
        try (Scope s = Scope.open()) {
            float[] v = uniform(r, 2 * 3 * 4 * 5);
            Shape shape = Shape.of(2, 3, 4, 5);
            NDArray a = gpu.fromHost(v, shape);
            assertArrayEquals(v, a.toFloatArray());
            NDArray cl = gpu.toLayout(a, Layout.CHANNELS_LAST);
            assertEquals(Layout.CHANNELS_LAST, cl.layout());
            assertArrayEquals(v, cl.toFloatArray(), "toHostFloats returns logical NCHW order for channels-last data");
            assertArrayEquals(v, gpu.toLayout(cl, Layout.ROW_MAJOR).toFloatArray());
            NDArray dst = gpu.empty(DType.F32, shape, Layout.CHANNELS_LAST);
            gpu.copyFromHost(dst, v);
            assertArrayEquals(v, dst.toFloatArray(), "copyFromHost into channels-last");
            NDArray back = gpu.empty(DType.F32, shape, Layout.ROW_MAJOR);
            gpu.copyInto(back, dst);
            assertArrayEquals(v, back.toFloatArray(), "copyInto across layouts");
            assertArrayEquals(doubles(v), gpu.fromHost(doubles(v), shape, DType.F32).toDoubleArray(), 0);
            assertEquals(0, gpu.fromHost(new float[0], Shape.of(0, 3)).toFloatArray().length);
        }
    }

    @Test
    void inPlaceWritesBumpTheVersion() {
        try (Scope s = Scope.open()) {
            NDArray a = gpu.fromHost(new float[] {1, 2, 3, 4}, Shape.of(4));
            NDArray b = gpu.fromHost(new float[] {1, 1, 1, 1}, Shape.of(4));
            NDArray m = gpu.zeros(DType.F32, Shape.of(4));
            NDArray v = gpu.zeros(DType.F32, Shape.of(4));
            int before = a.buffer().version();
            gpu.fill(a, 2);
            gpu.copyFromHost(a, new float[] {1, 2, 3, 4});
            gpu.copyInto(a, b);
            gpu.scaleInPlace(a, 2);
            gpu.axpyInPlace(a, 1, b);
            gpu.sgdUpdate(a, b, m, new SgdSpec(0.1, 0.9, 0, 0, false), true);
            gpu.adamwUpdate(a, b, m, v, new AdamWSpec(0.1, 0.9, 0.999, 1e-8, 0.01), 1);
            assertEquals(before + 7, a.buffer().version());
            assertEquals(2, m.buffer().version() - 1, "zeros' fill, then sgd and adamw");
            assertEquals(2, v.buffer().version(), "zeros' fill, then adamw");
        }
    }

    @Test
    void fillWritesEveryElement() {
        try (Scope s = Scope.open()) {
            NDArray a = gpu.empty(DType.F32, Shape.of(1000, 3), Layout.ROW_MAJOR);
            gpu.fill(a, 0);
            for (float x : a.toFloatArray()) {
                assertEquals(0f, x);
            }
            gpu.fill(a, -2.5);
            for (float x : a.toFloatArray()) {
                assertEquals(-2.5f, x);
            }
        }
    }

    @Test
    void addAndMulBroadcastRightAligned() {
        Random r = new Random(2);
        for (int trial = 0; trial < 40; trial++) {
            try (Scope s = Scope.open()) {
                int rank = 1 + r.nextInt(4);
                int[] as = new int[rank];
                for (int d = 0; d < rank; d++) {
                    as[d] = 1 + r.nextInt(6);
                }
                int bRank = r.nextInt(rank + 1);
                int[] bs = new int[bRank];
                for (int d = 0; d < bRank; d++) {
                    bs[d] = r.nextInt(3) == 0 ? 1 : as[rank - bRank + d];
                }
                NDArray[] a = pair(gpu, r, as);
                NDArray[] b = pair(gpu, r, bs);
                String what = Shape.of(as) + " op " + Shape.of(bs);
                assertUlps("add " + what, gpu.add(a[0], b[0]), ref.add(a[1], b[1]), 1);
                assertUlps("mul " + what, gpu.mul(a[0], b[0]), ref.mul(a[1], b[1]), 1);
            }
        }
    }

    @Test
    void channelsLastInputsGiveTheSameResults() {
        Random r = new Random(3);
        try (Scope s = Scope.open()) {
            NDArray[] x = pair(gpu, r, 2, 3, 5, 4);
            NDArray[] c = pair(gpu, r, 3, 1, 1);
            NDArray xcl = gpu.toLayout(x[0], Layout.CHANNELS_LAST);
            assertUlps("add channels-last", gpu.add(xcl, c[0]), ref.add(x[1], c[1]), 1);
            assertUlps("relu channels-last", gpu.relu(xcl), ref.relu(x[1]), 0);
            assertUlps("scale channels-last", gpu.scale(xcl, 0.5), ref.scale(x[1], 0.5), 0);
            assertNear("sumTo channels-last", gpu.sumTo(xcl, Shape.of(3, 1, 1)), ref.sumTo(x[1], Shape.of(3, 1, 1)), 1e-6);
            assertUlps("maxpool channels-last", gpu.maxPool2d(xcl, Pool2dSpec.of(2, 2, 0), false).output(),
                    ref.maxPool2d(x[1], Pool2dSpec.of(2, 2, 0), false).output(), 0);
        }
    }

    @Test
    void scaleScalAndAxpy() {
        Random r = new Random(4);
        try (Scope s = Scope.open()) {
            NDArray[] x = pair(gpu, r, 7, 11);
            NDArray[] y = pair(gpu, r, 7, 11);
            // Multipliers exactly representable in F32, so both sides multiply by the same number.
            assertUlps("scale", gpu.scale(x[0], -1.25), ref.scale(x[1], -1.25), 0);
            gpu.scaleInPlace(x[0], 0.75);
            ref.scaleInPlace(x[1], 0.75);
            assertUlps("scaleInPlace", x[0], x[1], 1);
            gpu.axpyInPlace(y[0], 0.5, x[0]);
            ref.axpyInPlace(y[1], 0.5, x[1]);
            assertNear("axpyInPlace", y[0], y[1], 4 * CudaTesting.U);
        }
    }

    @Test
    void reluOfEdgeValues() {
        try (Scope s = Scope.open()) {
            NDArray[] x = pair(gpu, new float[] {-2, -0f, 0, 1e-30f, 3, -1e-30f, 7}, 7);
            assertUlps("relu edge values", gpu.relu(x[0]), ref.relu(x[1]), 0);
            NDArray[] g = pair(gpu, new float[] {1, 2, 3, 4, 5, 6, 7}, 7);
            NDArray[] y = pair(gpu, new float[] {0, 0, 0, 1e-30f, 3, 0, 7}, 7);
            assertUlps("relu backward edge values", gpu.reluBackward(g[0], y[0]), ref.reluBackward(g[1], y[1]), 0);
        }
    }

    /** torch.relu keeps NaN; its backward (threshold_backward: 0 where y <= 0, else grad) passes the gradient there. */
    @Test
    void reluNaNFollowsTorch() {
        try (Scope s = Scope.open()) {
            NDArray[] x = pair(gpu, new float[] {Float.NaN, 1, -1}, 3);
            assertUlps("relu(NaN)", gpu.relu(x[0]), ref.relu(x[1]), 0);
            NDArray[] g = pair(gpu, new float[] {5, 5, 5}, 3);
            NDArray[] y = pair(gpu, new float[] {Float.NaN, 1, 0}, 3);
            assertUlps("relu backward at NaN", gpu.reluBackward(g[0], y[0]), ref.reluBackward(g[1], y[1]), 0);
        }
    }

    @Test
    void reluForwardAndBackward() {
        Random r = new Random(5);
        try (Scope s = Scope.open()) {
            NDArray[] x = pair(gpu, r, 3, 4, 9, 9);
            NDArray[] dy = pair(gpu, r, 3, 4, 9, 9);
            NDArray yg = gpu.relu(x[0]);
            NDArray yr = ref.relu(x[1]);
            assertUlps("relu", yg, yr, 0);
            assertUlps("relu backward", gpu.reluBackward(dy[0], yg), ref.reluBackward(dy[1], yr), 0);
        }
    }

    @Test
    void sumToAndSumOfSquares() {
        Random r = new Random(6);
        for (int trial = 0; trial < 30; trial++) {
            try (Scope s = Scope.open()) {
                int rank = 1 + r.nextInt(4);
                int[] xs = new int[rank];
                for (int d = 0; d < rank; d++) {
                    xs[d] = 1 + r.nextInt(trial < 25 ? 7 : rank <= 2 ? 300 : 24);
                }
                int tRank = r.nextInt(rank + 1);
                int[] ts = new int[tRank];
                for (int d = 0; d < tRank; d++) {
                    ts[d] = r.nextBoolean() ? 1 : xs[rank - tRank + d];
                }
                NDArray[] x = pair(gpu, r, xs);
                // Double accumulation, one rounding: a few ulps of the largest sum.
                assertNear("sumTo " + Shape.of(xs) + " -> " + Shape.of(ts), gpu.sumTo(x[0], Shape.of(ts)), ref.sumTo(x[1], Shape.of(ts)),
                        4 * CudaTesting.U);
                double want = ref.sumOfSquares(x[1]);
                assertEquals(want, gpu.sumOfSquares(x[0]), 1e-12 * want, "sumOfSquares " + Shape.of(xs));
            }
        }
        try (Scope s = Scope.open()) {
            NDArray[] big = pair(gpu, new Random(60), 64, 128, 7, 7);
            assertNear("sumTo bias gradient [64,128,7,7] -> [128,1,1]", gpu.sumTo(big[0], Shape.of(128, 1, 1)),
                    ref.sumTo(big[1], Shape.of(128, 1, 1)), 4 * CudaTesting.U);
            assertNear("sum of everything", gpu.sumTo(big[0], Shape.scalar()), ref.sumTo(big[1], Shape.scalar()), 4 * CudaTesting.U);
        }
    }

    @Test
    void gemmWithEveryTransposeCombination() {
        Random r = new Random(7);
        for (int trial = 0; trial < 24; trial++) {
            try (Scope s = Scope.open()) {
                boolean ta = (trial & 1) != 0;
                boolean tb = (trial & 2) != 0;
                int m = 1 + r.nextInt(70);
                int n = 1 + r.nextInt(70);
                int k = 1 + r.nextInt(trial < 20 ? 70 : 2000);
                NDArray[] a = ta ? pair(gpu, r, k, m) : pair(gpu, r, m, k);
                NDArray[] b = tb ? pair(gpu, r, n, k) : pair(gpu, r, k, n);
                assertNear("gemm m=" + m + " n=" + n + " k=" + k + " transA=" + ta + " transB=" + tb,
                        gpu.gemm(a[0], b[0], ta, tb), ref.gemm(a[1], b[1], ta, tb), tol(k));
            }
        }
    }

    @Test
    void logSoftmaxAndNllLoss() {
        Random r = new Random(8);
        for (int trial = 0; trial < 20; trial++) {
            try (Scope s = Scope.open()) {
                int n = 1 + r.nextInt(9);
                int c = 1 + r.nextInt(trial < 15 ? 12 : 1000);
                float[] logits = uniform(r, n * c);
                for (int i = 0; i < logits.length; i++) {
                    logits[i] *= 8;
                }
                NDArray[] x = pair(gpu, logits, n, c);
                NDArray yg = gpu.logSoftmax(x[0]);
                NDArray yr = ref.logSoftmax(x[1]);
                assertNear("logSoftmax [" + n + "," + c + "]", yg, yr, tol(c));
                NDArray[] dy = pair(gpu, r, n, c);
                assertNear("logSoftmax backward", gpu.logSoftmaxBackward(dy[0], yg), ref.logSoftmaxBackward(dy[1], yr), tol(c));

                int[] labels = new int[n];
                for (int i = 0; i < n; i++) {
                    labels[i] = r.nextInt(c);
                }
                float[] weights = trial % 2 == 0 ? null : new float[c];
                if (weights != null) {
                    for (int j = 0; j < c; j++) {
                        weights[j] = 0.25f + r.nextFloat();
                    }
                }
                double eps = trial % 3 == 0 ? 0 : 0.1;
                NDArray lossG = gpu.nllLoss(yg, labels, weights, eps);
                NDArray lossR = ref.nllLoss(yr, labels, weights, eps);
                assertEquals(Shape.scalar(), lossG.shape());
                assertNear("nll loss", lossG, lossR, tol((long) n * c));
                NDArray[] dl = pair(gpu, new float[] {1.5f}, new int[0]);
                assertNear("nll backward", gpu.nllLossBackward(dl[0], yg, labels, weights, eps),
                        ref.nllLossBackward(dl[1], yr, labels, weights, eps), 4 * CudaTesting.U);
            }
        }
    }

    /**
     * Binary cross-entropy with logits (batch up to 64, 14 labels, logits up to +-40, a fifth of the targets unknown,
     * with and without positive weights): cuda copies the logits to the host and computes in double as the reference
     * does, so the results must be equal bit for bit.
     */
    @Test
    void bceWithLogits() {
        Random r = new Random(12);
        for (int trial = 0; trial < 12; trial++) {
            try (Scope s = Scope.open()) {
                int n = 1 + r.nextInt(64);
                int l = 1 + r.nextInt(14);
                float[] logits = uniform(r, n * l);
                float[] targets = new float[n * l];
                for (int i = 0; i < logits.length; i++) {
                    logits[i] *= 40;
                    double u = r.nextDouble();
                    targets[i] = u < 0.2 ? Float.NaN : u < 0.5 ? 1 : 0;
                }
                float[] pw = null;
                if (trial % 2 == 1) {
                    pw = new float[l];
                    for (int j = 0; j < l; j++) {
                        pw[j] = 0.1f + 5 * r.nextFloat();
                    }
                }
                NDArray[] x = pair(gpu, logits, n, l);
                assertNear("bce [" + n + "," + l + "]", gpu.bceWithLogits(x[0], targets, pw), ref.bceWithLogits(x[1], targets, pw), 0);
                NDArray[] dl = pair(gpu, new float[] {0.7f}, new int[0]);
                assertNear("bce backward", gpu.bceWithLogitsBackward(dl[0], x[0], targets, pw),
                        ref.bceWithLogitsBackward(dl[1], x[1], targets, pw), 0);
            }
        }
    }

    @Test
    void batchNormTrainingInferenceAndBackward() {
        Random r = new Random(9);
        for (int trial = 0; trial < 16; trial++) {
            try (Scope s = Scope.open()) {
                int n = 1 + r.nextInt(4);
                int c = 1 + r.nextInt(6);
                int h = 1 + r.nextInt(trial < 12 ? 7 : 30);
                int w = 2 + r.nextInt(6);
                long m = (long) n * h * w;
                float[] xv = uniform(r, n * c * h * w);
                for (int i = 0; i < xv.length; i++) {
                    xv[i] = xv[i] * 3 + 0.5f;
                }
                NDArray[] x = pair(gpu, xv, n, c, h, w);
                NDArray[] gamma = pair(gpu, r, c);
                NDArray[] beta = pair(gpu, r, c);
                double eps = 1e-5;
                String what = "batch norm [" + n + "," + c + "," + h + "," + w + "]";
                BatchNormStats sg = gpu.batchNormTraining(x[0], gamma[0], beta[0], eps);
                BatchNormStats sr = ref.batchNormTraining(x[1], gamma[1], beta[1], eps);
                assertNear(what + " y", sg.output(), sr.output(), 4 * tol(m));
                assertNear(what + " mean", sg.mean(), sr.mean(), tol(m), 3.5);
                assertNear(what + " biased variance", sg.variance(), sr.variance(), 4 * tol(m));

                assertNear(what + " inference", gpu.batchNormInference(x[0], gamma[0], beta[0], sg.mean(), sg.variance(), eps),
                        ref.batchNormInference(x[1], gamma[1], beta[1], sr.mean(), sr.variance(), eps), 16 * CudaTesting.U);

                NDArray[] dy = pair(gpu, r, n, c, h, w);
                for (boolean batchStats : new boolean[] {true, false}) {
                    BatchNormGrads gg = gpu.batchNormBackward(dy[0], x[0], gamma[0], sg.mean(), sg.variance(), eps, batchStats, true, true);
                    BatchNormGrads gr = ref.batchNormBackward(dy[1], x[1], gamma[1], sr.mean(), sr.variance(), eps, batchStats, true, true);
                    String mode = batchStats ? " (batch statistics)" : " (fixed statistics)";
                    assertNear(what + " dx" + mode, gg.input(), gr.input(), 8 * tol(m));
                    assertNear(what + " dgamma" + mode, gg.weight(), gr.weight(), 8 * tol(m));
                    assertNear(what + " dbeta" + mode, gg.bias(), gr.bias(), 8 * tol(m));
                    BatchNormGrads onlyInput = gpu.batchNormBackward(dy[0], x[0], gamma[0], sg.mean(), sg.variance(), eps, batchStats, true, false);
                    assertTrue(onlyInput.weight() == null && onlyInput.bias() == null);
                    assertNear(what + " dx alone" + mode, onlyInput.input(), gr.input(), 8 * tol(m));
                    BatchNormGrads onlyParams = gpu.batchNormBackward(dy[0], x[0], gamma[0], sg.mean(), sg.variance(), eps, batchStats, false, true);
                    assertTrue(onlyParams.input() == null);
                    assertNear(what + " dgamma alone" + mode, onlyParams.weight(), gr.weight(), 8 * tol(m));
                }
            }
        }
    }

    @Test
    void maxPoolForwardAndBackward() {
        Random r = new Random(10);
        for (int trial = 0; trial < 30; trial++) {
            try (Scope s = Scope.open()) {
                int k = 1 + r.nextInt(3);
                int stride = 1 + r.nextInt(3);
                int pad = r.nextInt(k / 2 + 1);
                int h = k + r.nextInt(9);
                int w = k + r.nextInt(9);
                Pool2dSpec spec = Pool2dSpec.of(k, stride, pad);
                NDArray[] x = pair(gpu, r, 2, 3, h, w);
                NDArray yg = gpu.maxPool2d(x[0], spec, true).output();
                NDArray yr = ref.maxPool2d(x[1], spec, true).output();
                String what = "max pool " + spec + " on [2,3," + h + "," + w + "]";
                assertUlps(what, yg, yr, 0);
                NDArray[] dy = pair(gpu, r, yr.shape().dims());
                assertNear(what + " backward", gpu.maxPool2dBackward(dy[0], x[0], gpu.maxPool2d(x[0], spec, true), spec),
                        ref.maxPool2dBackward(dy[1], x[1], null, spec), 4 * CudaTesting.U);
            }
        }
    }

    /** After ReLU many windows hold several zeros; PyTorch (and the reference) send the gradient to the first one. */
    @Test
    void maxPoolTiesGoToTheFirstMaximum() {
        Random r = new Random(11);
        try (Scope s = Scope.open()) {
            float[] v = uniform(r, 2 * 4 * 12 * 12);
            for (int i = 0; i < v.length; i++) {
                v[i] = Math.max(0, v[i]) * (r.nextInt(4) == 0 ? 1 : 0);
            }
            NDArray[] x = pair(gpu, v, 2, 4, 12, 12);
            Pool2dSpec spec = Pool2dSpec.of(3, 2, 1);
            NDArray[] dy = pair(gpu, r, 2, 4, 6, 6);
            assertNear("max pool ties (ResNet stem 3x3/2 pad 1 after ReLU)",
                    gpu.maxPool2dBackward(dy[0], x[0], gpu.maxPool2d(x[0], spec, true), spec),
                    ref.maxPool2dBackward(dy[1], x[1], null, spec), 4 * CudaTesting.U);
        }
    }

    @Test
    void globalAveragePool() {
        Random r = new Random(12);
        for (int[] shape : new int[][] {{2, 3, 1, 1}, {2, 5, 7, 7}, {3, 16, 14, 9}, {1, 4, 56, 56}}) {
            try (Scope s = Scope.open()) {
                NDArray[] x = pair(gpu, r, shape);
                long hw = (long) shape[2] * shape[3];
                assertNear("global avg pool " + Shape.of(shape), gpu.globalAvgPool(x[0]), ref.globalAvgPool(x[1]), tol(hw));
                NDArray[] dy = pair(gpu, r, shape[0], shape[1], 1, 1);
                assertUlps("global avg pool backward", gpu.globalAvgPoolBackward(dy[0], Shape.of(shape)),
                        ref.globalAvgPoolBackward(dy[1], Shape.of(shape)), 1);
            }
        }
    }

    @Test
    void sgdInEveryVariant() {
        Random r = new Random(13);
        SgdSpec[] specs = {
            new SgdSpec(0.1, 0, 0, 0, false),
            new SgdSpec(0.05, 0.9, 0, 1e-4, false),
            new SgdSpec(0.05, 0.9, 0, 5e-4, true),
            new SgdSpec(0.01, 0.8, 0.3, 0, false),
        };
        for (SgdSpec spec : specs) {
            try (Scope s = Scope.open()) {
                NDArray[] p = pair(gpu, r, 33, 5);
                NDArray[] buf = spec.momentum() == 0 ? new NDArray[2] : pair(gpu, r, 33, 5);
                for (int step = 0; step < 3; step++) {
                    NDArray[] g = pair(gpu, r, 33, 5);
                    gpu.sgdUpdate(p[0], g[0], buf[0], spec, step == 0);
                    ref.sgdUpdate(p[1], g[1], buf[1], spec, step == 0);
                }
                assertNear("sgd " + spec + " param", p[0], p[1], 16 * CudaTesting.U);
                if (buf[0] != null) {
                    assertNear("sgd " + spec + " momentum", buf[0], buf[1], 16 * CudaTesting.U);
                }
            }
        }
    }

    @Test
    void adamw() {
        Random r = new Random(14);
        AdamWSpec spec = new AdamWSpec(1e-3, 0.9, 0.999, 1e-8, 0.01);
        try (Scope s = Scope.open()) {
            NDArray[] p = pair(gpu, r, 17, 9);
            NDArray[] m = pair(gpu, new float[17 * 9], 17, 9);
            NDArray[] v = pair(gpu, new float[17 * 9], 17, 9);
            for (int step = 1; step <= 4; step++) {
                NDArray[] g = pair(gpu, r, 17, 9);
                gpu.adamwUpdate(p[0], g[0], m[0], v[0], spec, step);
                ref.adamwUpdate(p[1], g[1], m[1], v[1], spec, step);
            }
            assertNear("adamw param", p[0], p[1], 64 * CudaTesting.U);
            assertNear("adamw m", m[0], m[1], 16 * CudaTesting.U);
            assertNear("adamw v", v[0], v[1], 16 * CudaTesting.U);
        }
    }

    private static double[] doubles(float[] v) {
        return CudaTesting.doubles(v);
    }
}
