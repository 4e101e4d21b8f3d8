package dev.graft.tests.differential;

import dev.graft.engine.NDArray;
import dev.graft.engine.Shape;
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
 * <p>The model, per output element: {@code xi * sqrt(L + 1) * u * S}, xi uniform in [-1, 1] (seeded), L the number of
 * terms summed, u = 2^-24 and S the sum of their absolute values (the reference run on |inputs|, as the kernel
 * properties' tolerance). sqrt(L) is the random-walk growth of rounding errors in a sum; the kernel properties hold
 * oneDNN to the worst-case L rather than sqrt(L). Batch norm's forward: the float mean and variance of M values per
 * channel and {@code x * scale + shift}: {@code xi * sqrt(M + 1) * u * ((|x| + mean|x|) |gamma| / sigma + |xhat| |gamma|)
 * + xi' * u * |beta|}.
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
            case "conv2d" -> sum(out, absConv((NDArray) args[0], (NDArray) args[1], (NDArray) args[2], (Conv2dSpec) args[3], null),
                    terms((NDArray) args[1], (Conv2dSpec) args[3]));
            case "conv2dInference" -> sum(out, absConv((NDArray) args[0], (NDArray) args[1], (NDArray) args[2], (Conv2dSpec) args[5],
                    (NDArray) args[3]), terms((NDArray) args[1], (Conv2dSpec) args[5]) + 2);
            case "conv2dBackwardData" -> {
                NDArray w = (NDArray) args[1];
                Conv2dSpec s = (Conv2dSpec) args[3];
                yield sum(out, raw.conv2dBackwardData(abs((NDArray) args[0]), abs(w), (Shape) args[2], s).toDoubleArray(),
                        (long) w.shape().dim(0) / s.groups() * w.shape().dim(2) * w.shape().dim(3));
            }
            case "conv2dBackwardWeights" -> {
                NDArray dy = (NDArray) args[0];
                yield sum(out, raw.conv2dBackwardWeights(abs(dy), abs((NDArray) args[1]), (Shape) args[2], (Conv2dSpec) args[3])
                        .toDoubleArray(), (long) dy.shape().dim(0) * dy.shape().dim(2) * dy.shape().dim(3));
            }
            case "gemm" -> {
                NDArray a = (NDArray) args[0];
                boolean ta = (Boolean) args[2];
                yield sum(out, raw.gemm(abs(a), abs((NDArray) args[1]), ta, (Boolean) args[3]).toDoubleArray(),
                        ta ? a.shape().dim(0) : a.shape().dim(1));
            }
            case "batchNormTraining", "batchNormTrainingRelu" -> batchNorm(out, (NDArray) args[0], (NDArray) args[1], (NDArray) args[2],
                    (Double) args[3]);
            default -> out;
        };
    }

    private double[] sum(double[] out, double[] absTerms, long terms) {
        double scale = Math.sqrt(terms + 1.0) * U;
        double[] p = out.clone();
        for (int i = 0; i < p.length; i++) {
            p[i] += (2 * random.nextDouble() - 1) * scale * absTerms[i];
        }
        return p;
    }

    private static long terms(NDArray w, Conv2dSpec s) {
        return (long) w.shape().dim(1) * w.shape().dim(2) * w.shape().dim(3);
    }

    private double[] absConv(NDArray x, NDArray w, NDArray bias, Conv2dSpec spec, NDArray residual) {
        double[] b = raw.conv2d(abs(x), abs(w), bias == null ? null : abs(bias), spec).toDoubleArray();
        if (residual != null) {
            double[] r = residual.backend().toHostDoubles(residual);
            for (int i = 0; i < b.length; i++) {
                b[i] += Math.abs(r[i]);
            }
        }
        return b;
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
            double mean = 0, absMean = 0;
            for (int bi = 0; bi < n; bi++) {
                for (int q = 0; q < hw; q++) {
                    double v = xv[(bi * c + ch) * hw + q];
                    mean += v;
                    absMean += Math.abs(v);
                }
            }
            mean /= m;
            absMean /= m;
            double var = 0;
            for (int bi = 0; bi < n; bi++) {
                for (int q = 0; q < hw; q++) {
                    double d = xv[(bi * c + ch) * hw + q] - mean;
                    var += d * d;
                }
            }
            double sigma = Math.sqrt(var / m + eps);
            double gs = Math.abs(g[ch]) / sigma;
            for (int bi = 0; bi < n; bi++) {
                for (int q = 0; q < hw; q++) {
                    int i = (bi * c + ch) * hw + q;
                    double xhat = Math.abs(xv[i] - mean) / sigma;
                    p[i] += (2 * random.nextDouble() - 1) * scale * ((Math.abs(xv[i]) + absMean) * gs + xhat * Math.abs(g[ch]))
                            + (2 * random.nextDouble() - 1) * U * Math.abs(b[ch]);
                }
            }
        }
        return p;
    }

    private NDArray abs(NDArray a) {
        double[] v = a.backend().toHostDoubles(a);
        for (int i = 0; i < v.length; i++) {
            v[i] = Math.abs(v[i]);
        }
        return raw.fromHost(v, a.shape(), a.dtype());
    }
}
