package dev.graft.tests.differential;

import dev.graft.engine.NDArray;
import dev.graft.engine.Shape;
import dev.graft.engine.backend.AvgPool2dSpec;
import dev.graft.engine.backend.Backend;
import dev.graft.engine.backend.Conv2dSpec;

import java.util.Random;

/**
 * The yardstick of the differential harness beside reference F32: an F64 replay in which the output of every kernel
 * that sums many products (convolutions in all three passes, the matrix product, batch norm) is moved by a random
 * amount of the size float32 accumulation typically leaves, so that the harness can ask "how far does this draw move
 * under float arithmetic of the kind oneDNN does" rather than "under one rounding per result" (which is what
 * reference F32 shows, and which can be far smaller: a float sum's error scales with the sum of the absolute terms,
 * a rounded result's with its own magnitude, and train-mode batch norm over a few values per channel amplifies
 * exactly the cancelling part).
 *
 * <p>The model, per output element: {@code xi * sqrt(L + 1) * u * R}, xi uniform in [-1, 1] (seeded), L the number of
 * terms summed, u = 2^-24 and R = sqrt(sum of the squared terms) (the reference run on the squared inputs). With terms
 * of random sign the partial sums of a float accumulation grow like sqrt(k) times a term, and the rounding errors
 * they collect add up like a random walk, to about L u times a typical term, which is sqrt(L) u R; the kernel
 * properties hold oneDNN to the worst case, L u times the sum of |terms|, which a real sum rarely approaches (the
 * first version of this yardstick used sqrt(L) u times that sum and over-estimated the error of wide layers by
 * up to 40x). Batch norm's forward: the float mean and variance of M values per channel, each computed once (one
 * draw per channel: {@code xi_m sqrt(M + 1) u rms(x) |gamma| / sigma} and {@code xi_v sqrt(M + 1) u xhat |gamma|}),
 * and the rounding of {@code x * scale + shift} per element: {@code xi u (|x| |gamma| / sigma + |beta|)}.
 *
 * <p>Average pooling is a summing kernel too: each output adds the L = kh * kw cells of its window (those inside
 * the input) and divides by its divisor d, so R = sqrt(sum x^2) / d; its backward adds, into each input cell, the
 * dy / d of the L = ceil(kh/sh) * ceil(kw/sw) windows at most that hold it, R = sqrt(sum (dy/d)^2). Channel
 * concatenation and its split copy values exactly and are not perturbed.
 *
 * <p>Transformer ops: the batched matrix product is a summing kernel like the 2-D one (L = the inner size, R from
 * the squared operands); softmax over the last axis sums C exponentials per row (see {@link #softmax}) and its
 * backward a dot product of C terms per row; the scatter-add of index_select's backward sums, into each table cell,
 * the gradient entries that picked it (L = the largest multiplicity of an index). Permute, cat, narrow and
 * index_select's forward copy values exactly and are not perturbed.
 */
final class RoundingPerturbation {
    private static final double U = Math.scalb(1.0, -24);

    private final Backend raw;
    private final Random random;

    RoundingPerturbation(Backend raw, long seed) {
        this.raw = raw;
        this.random = new Random(seed);
    }

    /** The perturbed values of a kernel's output {@code out}, or {@code out} itself for kernels that sum nothing. */
    double[] perturb(String kernel, Object[] args, double[] out) {
        return switch (kernel) {
            case "conv2d" -> sum(out, rmsConv((NDArray) args[0], (NDArray) args[1], (NDArray) args[2], (Conv2dSpec) args[3], null),
                    terms((NDArray) args[1], (Conv2dSpec) args[3]));
            case "conv2dInference" -> sum(out, rmsConv((NDArray) args[0], (NDArray) args[1], (NDArray) args[2], (Conv2dSpec) args[5],
                    (NDArray) args[3]), terms((NDArray) args[1], (Conv2dSpec) args[5]) + 2);
            case "conv2dBackwardData" -> {
                NDArray w = (NDArray) args[1];
                Conv2dSpec s = (Conv2dSpec) args[3];
                yield sum(out, sqrt(raw.conv2dBackwardData(square((NDArray) args[0]), square(w), (Shape) args[2], s).toDoubleArray()),
                        (long) w.shape().dim(0) / s.groups() * w.shape().dim(2) * w.shape().dim(3));
            }
            case "conv2dBackwardWeights" -> {
                NDArray dy = (NDArray) args[0];
                yield sum(out, sqrt(raw.conv2dBackwardWeights(square(dy), square((NDArray) args[1]), (Shape) args[2], (Conv2dSpec) args[3])
                        .toDoubleArray()), (long) dy.shape().dim(0) * dy.shape().dim(2) * dy.shape().dim(3));
            }
            case "gemm" -> {
                NDArray a = (NDArray) args[0];
                boolean ta = (Boolean) args[2];
                yield sum(out, sqrt(raw.gemm(square(a), square((NDArray) args[1]), ta, (Boolean) args[3]).toDoubleArray()),
                        ta ? a.shape().dim(0) : a.shape().dim(1));
            }
            case "batchNormTraining", "batchNormTrainingRelu" -> batchNorm(out, (NDArray) args[0], (NDArray) args[1], (NDArray) args[2],
                    (Double) args[3]);
            case "batchedGemm" -> {
                NDArray a = (NDArray) args[0];
                boolean ta = (Boolean) args[2];
                yield sum(out, sqrt(raw.batchedGemm(square(a), square((NDArray) args[1]), ta, (Boolean) args[3]).toDoubleArray()),
                        ta ? a.shape().dim(1) : a.shape().dim(2));
            }
            case "softmax" -> softmax(out, ((NDArray) args[0]).shape().dim(-1));
            case "softmaxBackward" -> softmaxBackward(out, (NDArray) args[0], (NDArray) args[1]);
            case "indexSelectBackward" -> {
                int[] index = (int[]) args[2];
                java.util.Map<Integer, Integer> counts = new java.util.HashMap<>();
                int most = 1;
                for (int i : index) {
                    most = Math.max(most, counts.merge(i, 1, Integer::sum));
                }
                yield sum(out, sqrt(raw.indexSelectBackward(square((NDArray) args[0]), (Integer) args[1], index, (Shape) args[3])
                        .toDoubleArray()), most);
            }
            case "layerNorm" -> layerNorm(out, (NDArray) args[0], (NDArray) args[1], (NDArray) args[2], (Double) args[3]);
            case "gelu" -> gelu(out);
            case "avgPool2d" -> avgPool(out, (NDArray) args[0], (AvgPool2dSpec) args[1]);
            case "avgPool2dBackward" -> avgPoolBackward(out, (NDArray) args[0], (Shape) args[1], (AvgPool2dSpec) args[2]);
            default -> out;
        };
    }

    /** R = sqrt(sum of the window's x^2) / d = sqrt(avgPool(x^2) / d), d each output's divisor. */
    private double[] avgPool(double[] out, NDArray x, AvgPool2dSpec spec) {
        double[] mean = raw.avgPool2d(square(x), spec).toDoubleArray();
        double[] d = divisors(x.shape(), spec);
        for (int i = 0; i < mean.length; i++) {
            mean[i] = Math.sqrt(mean[i] / d[i]);
        }
        return sum(out, mean, (long) spec.kernelH() * spec.kernelW());
    }

    /** R = sqrt(sum over the windows holding a cell of (dy/d)^2): the backward of dy^2 / d, whose own division adds the second d. */
    private double[] avgPoolBackward(double[] out, NDArray dy, Shape xs, AvgPool2dSpec spec) {
        double[] g = dy.backend().toHostDoubles(dy);
        double[] d = divisors(xs, spec);
        for (int i = 0; i < g.length; i++) {
            g[i] = g[i] * g[i] / d[i];
        }
        double[] r = sqrt(raw.avgPool2dBackward(raw.fromHost(g, dy.shape(), dy.dtype()), xs, spec).toDoubleArray());
        long overlap = (long) ((spec.kernelH() + spec.strideH() - 1) / spec.strideH()) * ((spec.kernelW() + spec.strideW() - 1) / spec.strideW());
        return sum(out, r, overlap);
    }

    /**
     * Softmax over the last axis, per row of C: y_i = e_i / S. The float sum S of C exponentials is off by about
     * sqrt(C + 1) u sqrt(sum e_j^2), a relative error of sqrt(C + 1) u sqrt(sum y_j^2) shared by the row (one draw per
     * row); each exponential and the division round once more (2u y_i, one draw per element).
     */
    private double[] softmax(double[] y, int c) {
        return rows(y, null, y, c);
    }

    /**
     * dx_i = y_i (dy_i - d), d = sum_j dy_j y_j a float dot product of C terms: off by about sqrt(C + 1) u
     * sqrt(sum (dy_j y_j)^2) (one draw per row), times y_i; the difference and product round once more (u |dx_i|).
     */
    private double[] softmaxBackward(double[] dx, NDArray dy, NDArray y) {
        return rows(dx, dy.backend().toHostDoubles(dy), y.backend().toHostDoubles(y), dy.shape().dim(-1));
    }

    private double[] rows(double[] out, double[] dy, double[] y, int c) {
        double[] p = out.clone();
        double scale = Math.sqrt(c + 1.0) * U;
        for (int r = 0; r < out.length / c; r++) {
            double sq = 0;
            for (int j = 0; j < c; j++) {
                double t = dy == null ? y[r * c + j] : dy[r * c + j] * y[r * c + j];
                sq += t * t;
            }
            double rowError = (2 * random.nextDouble() - 1) * scale * Math.sqrt(sq);
            for (int j = 0; j < c; j++) {
                int i = r * c + j;
                p[i] += (dy == null ? rowError * y[i] : -rowError * y[i])
                        + (2 * random.nextDouble() - 1) * (dy == null ? 2 : 1) * U * Math.abs(out[i]);
            }
        }
        return p;
    }

    /** Each output's divisor, row-major over [N, C, Ho, Wo]. */
    private static double[] divisors(Shape xs, AvgPool2dSpec p) {
        int h = xs.dim(2), w = xs.dim(3);
        int ho = Conv2dSpec.outputSize(h, p.kernelH(), p.strideH(), p.padH(), 1);
        int wo = Conv2dSpec.outputSize(w, p.kernelW(), p.strideW(), p.padW(), 1);
        double[] d = new double[xs.dim(0) * xs.dim(1) * ho * wo];
        for (int i = 0; i < d.length; i++) {
            int q = i % (ho * wo);
            d[i] = p.divisor(q / wo * p.strideH() - p.padH(), q % wo * p.strideW() - p.padW(), h, w);
        }
        return d;
    }

    private double[] sum(double[] out, double[] rmsTerms, long terms) {
        double scale = Math.sqrt(terms + 1.0) * U;
        double[] p = out.clone();
        for (int i = 0; i < p.length; i++) {
            p[i] += (2 * random.nextDouble() - 1) * scale * rmsTerms[i];
        }
        return p;
    }

    private static long terms(NDArray w, Conv2dSpec s) {
        return (long) w.shape().dim(1) * w.shape().dim(2) * w.shape().dim(3);
    }

    /** sqrt of the sum of the squared terms of each output (products, bias, residual). */
    private double[] rmsConv(NDArray x, NDArray w, NDArray bias, Conv2dSpec spec, NDArray residual) {
        double[] b = raw.conv2d(square(x), square(w), bias == null ? null : square(bias), spec).toDoubleArray();
        if (residual != null) {
            double[] r = residual.backend().toHostDoubles(residual);
            for (int i = 0; i < b.length; i++) {
                b[i] += r[i] * r[i];
            }
        }
        return sqrt(b);
    }

    private static double[] sqrt(double[] v) {
        for (int i = 0; i < v.length; i++) {
            v[i] = Math.sqrt(v[i]);
        }
        return v;
    }

    /** out is batch norm's (pre-relu) output for x; per channel of [N, C, H, W]. */
    private double[] batchNorm(double[] out, NDArray x, NDArray gamma, NDArray beta, double eps) {
        double[] xv = x.backend().toHostDoubles(x);
        double[] g = gamma.backend().toHostDoubles(gamma);
        double[] b = beta.backend().toHostDoubles(beta);
        int n = x.shape().dim(0), c = x.shape().dim(1), hw = x.shape().dim(2) * x.shape().dim(3);
        int m = n * hw;
        double scale = Math.sqrt(m + 1.0) * U;
        double[] p = out.clone();
        for (int ch = 0; ch < c; ch++) {
            double mean = 0, squares = 0;
            for (int bi = 0; bi < n; bi++) {
                for (int q = 0; q < hw; q++) {
                    double v = xv[(bi * c + ch) * hw + q];
                    mean += v;
                    squares += v * v;
                }
            }
            mean /= m;
            double rms = Math.sqrt(squares / m);
            double var = 0;
            for (int bi = 0; bi < n; bi++) {
                for (int q = 0; q < hw; q++) {
                    double d = xv[(bi * c + ch) * hw + q] - mean;
                    var += d * d;
                }
            }
            double sigma = Math.sqrt(var / m + eps);
            double gs = Math.abs(g[ch]) / sigma;
            // Computed once per channel, so one draw each: the mean's error and the variance's relative error.
            double meanError = (2 * random.nextDouble() - 1) * scale * rms * gs;
            double varError = (2 * random.nextDouble() - 1) * scale * Math.abs(g[ch]);
            for (int bi = 0; bi < n; bi++) {
                for (int q = 0; q < hw; q++) {
                    int i = (bi * c + ch) * hw + q;
                    double xhat = (xv[i] - mean) / sigma; // a relative error of sigma scales xhat, so signed
                    p[i] += meanError + varError * xhat
                            + (2 * random.nextDouble() - 1) * U * (Math.abs(xv[i]) * gs + Math.abs(b[ch])); // x * scale + shift
                }
            }
        }
        return p;
    }

    /**
     * Layer norm, as batch norm but per row of the last axis (C values): the row's float mean and variance, each
     * computed once (one draw per row: {@code xi_m sqrt(C + 1) u rms(x) |w_i| / sigma} and
     * {@code xi_v sqrt(C + 1) u xhat |w_i|}), and the rounding of {@code xhat * w + b} per element:
     * {@code xi u (|xhat| |w_i| + |b_i|)}.
     */
    private double[] layerNorm(double[] out, NDArray x, NDArray weight, NDArray bias, double eps) {
        double[] xv = x.backend().toHostDoubles(x);
        double[] w = weight.backend().toHostDoubles(weight);
        double[] b = bias.backend().toHostDoubles(bias);
        int c = w.length;
        int rows = xv.length / c;
        double scale = Math.sqrt(c + 1.0) * U;
        double[] p = out.clone();
        for (int r = 0; r < rows; r++) {
            double mean = 0, squares = 0;
            for (int i = 0; i < c; i++) {
                mean += xv[r * c + i];
                squares += xv[r * c + i] * xv[r * c + i];
            }
            mean /= c;
            double rms = Math.sqrt(squares / c);
            double var = 0;
            for (int i = 0; i < c; i++) {
                double d = xv[r * c + i] - mean;
                var += d * d;
            }
            double sigma = Math.sqrt(var / c + eps);
            double meanError = (2 * random.nextDouble() - 1) * scale * rms / sigma;
            double varError = (2 * random.nextDouble() - 1) * scale;
            for (int i = 0; i < c; i++) {
                int k = r * c + i;
                double xhat = (xv[k] - mean) / sigma;
                p[k] += Math.abs(w[i]) * (meanError + varError * xhat)
                        + (2 * random.nextDouble() - 1) * U * (Math.abs(xhat * w[i]) + Math.abs(b[i]));
            }
        }
        return p;
    }

    /** GELU is elementwise: one rounding of each result, {@code xi u |y|} (oneDNN's erf is within a few ulps of it). */
    private double[] gelu(double[] out) {
        double[] p = out.clone();
        for (int i = 0; i < p.length; i++) {
            p[i] += (2 * random.nextDouble() - 1) * U * Math.abs(p[i]);
        }
        return p;
    }

    private NDArray square(NDArray a) {
        double[] v = a.backend().toHostDoubles(a);
        for (int i = 0; i < v.length; i++) {
            v[i] = v[i] * v[i];
        }
        return raw.fromHost(v, a.shape(), a.dtype());
    }
}
