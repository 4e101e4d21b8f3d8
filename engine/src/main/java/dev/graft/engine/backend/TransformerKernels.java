package dev.graft.engine.backend;

import dev.graft.engine.NDArray;
import dev.graft.engine.Shape;

/**
 * Host implementations of the transformer kernels of {@link Backend} (batched matmul, permute, concat and narrow on
 * any axis, softmax over the last axis, index_select and its scatter-add): read the inputs as doubles, compute in
 * double, store once (rounding to float for F32). The reference backend uses them as they are; the cpu backend
 * overrides batched matmul, softmax, permute, concat and narrow with oneDNN or native copies; the cuda backend
 * overrides batched matmul (cuBLAS), softmax (cuDNN), concat and narrow (2-D copies). index_select and its
 * backward run here on every backend (Swin's bias table is a few thousand numbers).
 *
 * <p>Every op sees an array as [outer, axis, inner]: outer is the product of the dimensions before the axis,
 * inner of those after it, so a slice along the axis is one contiguous run of {@code inner} elements per outer index.
 */
public final class TransformerKernels {
    private TransformerKernels() {
    }

    static NDArray batchedGemm(Backend be, NDArray a, NDArray b, boolean transA, boolean transB) {
        Shape as = a.shape();
        Shape bs = b.shape();
        int batch = as.dim(0);
        int m = transA ? as.dim(2) : as.dim(1);
        int k = transA ? as.dim(1) : as.dim(2);
        int n = transB ? bs.dim(1) : bs.dim(2);
        double[] av = a.toDoubleArray();
        double[] bv = b.toDoubleArray();
        int lda = as.dim(2);
        int ldb = bs.dim(2);
        double[] c = new double[batch * m * n];
        for (int q = 0; q < batch; q++) {
            int ao = q * as.dim(1) * as.dim(2);
            int bo = q * bs.dim(1) * bs.dim(2);
            for (int i = 0; i < m; i++) {
                for (int j = 0; j < n; j++) {
                    double s = 0;
                    for (int p = 0; p < k; p++) {
                        double x = transA ? av[ao + p * lda + i] : av[ao + i * lda + p];
                        double y = transB ? bv[bo + j * ldb + p] : bv[bo + p * ldb + j];
                        s += x * y;
                    }
                    c[(q * m + i) * n + j] = s;
                }
            }
        }
        return be.fromHost(c, Shape.of(batch, m, n), a.dtype());
    }

    static NDArray permute(Backend be, NDArray x, int[] perm) {
        Shape s = x.shape();
        int r = s.rank();
        int[] outDims = new int[r];
        long[] inStrides = strides(s);
        long[] step = new long[r]; // input stride of output axis i
        for (int i = 0; i < r; i++) {
            outDims[i] = s.dim(perm[i]);
            step[i] = inStrides[perm[i]];
        }
        double[] v = x.toDoubleArray();
        double[] out = new double[v.length];
        int[] idx = new int[r];
        long src = 0;
        for (int o = 0; o < out.length; o++) {
            out[o] = v[(int) src];
            for (int d = r - 1; d >= 0; d--) { // odometer over the output's indices
                idx[d]++;
                src += step[d];
                if (idx[d] < outDims[d]) {
                    break;
                }
                src -= step[d] * idx[d];
                idx[d] = 0;
            }
        }
        return be.fromHost(out, Shape.of(outDims), x.dtype());
    }

    static NDArray concat(Backend be, NDArray[] xs, int axis) {
        Shape s = xs[0].shape();
        long outer = outer(s, axis);
        long inner = inner(s, axis);
        int total = 0;
        for (NDArray x : xs) {
            total += x.shape().dim(axis);
        }
        double[] y = new double[(int) (outer * total * inner)];
        int a0 = 0;
        for (NDArray x : xs) {
            double[] v = x.toDoubleArray();
            int run = (int) (x.shape().dim(axis) * inner);
            for (long o = 0; o < outer; o++) {
                System.arraycopy(v, (int) (o * run), y, (int) ((o * total + a0) * inner), run);
            }
            a0 += x.shape().dim(axis);
        }
        return be.fromHost(y, withDim(s, axis, total), xs[0].dtype());
    }

    static NDArray narrow(Backend be, NDArray x, int axis, int start, int length) {
        Shape s = x.shape();
        long outer = outer(s, axis);
        long inner = inner(s, axis);
        double[] v = x.toDoubleArray();
        int run = (int) (length * inner);
        double[] y = new double[(int) (outer * run)];
        for (long o = 0; o < outer; o++) {
            System.arraycopy(v, (int) ((o * s.dim(axis) + start) * inner), y, (int) (o * run), run);
        }
        return be.fromHost(y, withDim(s, axis, length), x.dtype());
    }

    static NDArray softmax(Backend be, NDArray x) {
        double[] v = x.toDoubleArray();
        int c = x.shape().rank() == 0 ? 1 : x.shape().dim(-1);
        double[] y = new double[v.length];
        for (int r = 0; c > 0 && r < v.length / c; r++) {
            int o = r * c;
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < c; j++) {
                max = Math.max(max, v[o + j]);
            }
            double sum = 0;
            for (int j = 0; j < c; j++) {
                y[o + j] = Math.exp(v[o + j] - max);
                sum += y[o + j];
            }
            for (int j = 0; j < c; j++) {
                y[o + j] /= sum;
            }
        }
        return be.fromHost(y, x.shape(), x.dtype());
    }

    static NDArray softmaxBackward(Backend be, NDArray dy, NDArray y) {
        double[] g = dy.toDoubleArray();
        double[] p = y.toDoubleArray();
        int c = dy.shape().rank() == 0 ? 1 : dy.shape().dim(-1);
        double[] dx = new double[g.length];
        for (int r = 0; c > 0 && r < g.length / c; r++) {
            int o = r * c;
            double dot = 0;
            for (int j = 0; j < c; j++) {
                dot += g[o + j] * p[o + j];
            }
            for (int j = 0; j < c; j++) {
                dx[o + j] = p[o + j] * (g[o + j] - dot);
            }
        }
        return be.fromHost(dx, dy.shape(), dy.dtype());
    }

    static NDArray indexSelect(Backend be, NDArray x, int axis, int[] index) {
        Shape s = x.shape();
        long outer = outer(s, axis);
        int inner = (int) inner(s, axis);
        int len = s.dim(axis);
        double[] v = x.toDoubleArray();
        double[] y = new double[(int) (outer * index.length * inner)];
        for (long o = 0; o < outer; o++) {
            for (int j = 0; j < index.length; j++) {
                System.arraycopy(v, (int) ((o * len + index[j]) * inner), y, (int) ((o * index.length + j) * inner), inner);
            }
        }
        return be.fromHost(y, withDim(s, axis, index.length), x.dtype());
    }

    static NDArray indexSelectBackward(Backend be, NDArray dy, int axis, int[] index, Shape xShape) {
        long outer = outer(xShape, axis);
        int inner = (int) inner(xShape, axis);
        int len = xShape.dim(axis);
        double[] g = dy.toDoubleArray();
        double[] dx = new double[xShape.numel()];
        for (long o = 0; o < outer; o++) {
            for (int j = 0; j < index.length; j++) { // increasing j: the accumulation order the Backend doc states
                int from = (int) ((o * index.length + j) * inner);
                int to = (int) ((o * len + index[j]) * inner);
                for (int e = 0; e < inner; e++) {
                    dx[to + e] += g[from + e];
                }
            }
        }
        return be.fromHost(dx, xShape, dy.dtype());
    }

    // ---- shape helpers (public to the backends through these static methods) ------------------------------

    /** Product of the dimensions before {@code axis}. */
    public static long outer(Shape s, int axis) {
        long o = 1;
        for (int i = 0; i < axis; i++) {
            o *= s.dim(i);
        }
        return o;
    }

    /** Product of the dimensions after {@code axis}. */
    public static long inner(Shape s, int axis) {
        long o = 1;
        for (int i = axis + 1; i < s.rank(); i++) {
            o *= s.dim(i);
        }
        return o;
    }

    public static Shape withDim(Shape s, int axis, int size) {
        int[] d = new int[s.rank()];
        for (int i = 0; i < d.length; i++) {
            d[i] = i == axis ? size : s.dim(i);
        }
        return Shape.of(d);
    }

    static long[] strides(Shape s) {
        long[] st = new long[s.rank()];
        long acc = 1;
        for (int i = s.rank() - 1; i >= 0; i--) {
            st[i] = acc;
            acc *= s.dim(i);
        }
        return st;
    }
}
