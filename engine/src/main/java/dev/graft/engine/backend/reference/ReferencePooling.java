package dev.graft.engine.backend.reference;

import dev.graft.engine.Shape;
import dev.graft.engine.backend.AvgPool2dSpec;
import dev.graft.engine.backend.Conv2dSpec;
import dev.graft.engine.backend.Pool2dSpec;

/**
 * Average pooling with padding (PyTorch's divisor, see {@link AvgPool2dSpec}), max pooling (padding never wins; ties go to the first maximum in scan order; a window with NaN gives NaN, its last
 * NaN in scan order winning, as in torch 1.13's cpu kernels) and global average pooling.
 */
final class ReferencePooling {
    private ReferencePooling() {
    }

    static Shape maxOutputShape(Shape x, Pool2dSpec p) {
        return Shape.of(x.dim(0), x.dim(1),
                Conv2dSpec.outputSize(x.dim(2), p.kernelH(), p.strideH(), p.padH(), 1),
                Conv2dSpec.outputSize(x.dim(3), p.kernelW(), p.strideW(), p.padW(), 1));
    }

    static double[] maxForward(Shape xs, double[] x, Pool2dSpec p) {
        int[] arg = argmax(xs, x, p);
        double[] y = new double[arg.length];
        for (int i = 0; i < y.length; i++) {
            y[i] = x[arg[i]];
        }
        return y;
    }

    static double[] maxBackward(Shape xs, double[] x, double[] dy, Pool2dSpec p) {
        int[] arg = argmax(xs, x, p);
        double[] dx = new double[x.length];
        for (int i = 0; i < arg.length; i++) {
            dx[arg[i]] += dy[i];
        }
        return dx;
    }

    /** Flat input index of each output's maximum. */
    private static int[] argmax(Shape xs, double[] x, Pool2dSpec p) {
        Shape ys = maxOutputShape(xs, p);
        int planes = xs.dim(0) * xs.dim(1), h = xs.dim(2), w = xs.dim(3), oh = ys.dim(2), ow = ys.dim(3);
        int[] arg = new int[ys.numel()];
        for (int pl = 0; pl < planes; pl++) {
            for (int i = 0; i < oh; i++) {
                for (int j = 0; j < ow; j++) {
                    int best = -1;
                    double max = Double.NEGATIVE_INFINITY;
                    for (int r = 0; r < p.kernelH(); r++) {
                        int ih = i * p.strideH() - p.padH() + r;
                        for (int s = 0; s < p.kernelW(); s++) {
                            int iw = j * p.strideW() - p.padW() + s;
                            if (ih < 0 || ih >= h || iw < 0 || iw >= w) {
                                continue;
                            }
                            int idx = (pl * h + ih) * w + iw;
                            // torch's rule (val > maxval || isnan(val)): a NaN wins, and a later NaN replaces it.
                            if (best < 0 || x[idx] > max || Double.isNaN(x[idx])) {
                                best = idx;
                                max = x[idx];
                            }
                        }
                    }
                    arg[(pl * oh + i) * ow + j] = best;
                }
            }
        }
        return arg;
    }

    static Shape avgOutputShape(Shape x, AvgPool2dSpec p) {
        return Shape.of(x.dim(0), x.dim(1),
                Conv2dSpec.outputSize(x.dim(2), p.kernelH(), p.strideH(), p.padH(), 1),
                Conv2dSpec.outputSize(x.dim(3), p.kernelW(), p.strideW(), p.padW(), 1));
    }

    /** y = (sum of the window's cells inside the input) / divisor, summed in scan order. */
    static double[] avgForward(Shape xs, double[] x, AvgPool2dSpec p) {
        Shape ys = avgOutputShape(xs, p);
        int planes = xs.dim(0) * xs.dim(1), h = xs.dim(2), w = xs.dim(3), oh = ys.dim(2), ow = ys.dim(3);
        double[] y = new double[ys.numel()];
        for (int pl = 0; pl < planes; pl++) {
            for (int i = 0; i < oh; i++) {
                for (int j = 0; j < ow; j++) {
                    int h0 = i * p.strideH() - p.padH(), w0 = j * p.strideW() - p.padW();
                    double s = 0;
                    for (int ih = Math.max(h0, 0); ih < Math.min(h0 + p.kernelH(), h); ih++) {
                        for (int iw = Math.max(w0, 0); iw < Math.min(w0 + p.kernelW(), w); iw++) {
                            s += x[(pl * h + ih) * w + iw];
                        }
                    }
                    y[(pl * oh + i) * ow + j] = s / p.divisor(h0, w0, h, w);
                }
            }
        }
        return y;
    }

    /** dx[cell] = sum over the windows holding the cell of dy / divisor. */
    static double[] avgBackward(Shape xs, double[] dy, AvgPool2dSpec p) {
        Shape ys = avgOutputShape(xs, p);
        int planes = xs.dim(0) * xs.dim(1), h = xs.dim(2), w = xs.dim(3), oh = ys.dim(2), ow = ys.dim(3);
        double[] dx = new double[xs.numel()];
        for (int pl = 0; pl < planes; pl++) {
            for (int i = 0; i < oh; i++) {
                for (int j = 0; j < ow; j++) {
                    int h0 = i * p.strideH() - p.padH(), w0 = j * p.strideW() - p.padW();
                    double g = dy[(pl * oh + i) * ow + j] / p.divisor(h0, w0, h, w);
                    for (int ih = Math.max(h0, 0); ih < Math.min(h0 + p.kernelH(), h); ih++) {
                        for (int iw = Math.max(w0, 0); iw < Math.min(w0 + p.kernelW(), w); iw++) {
                            dx[(pl * h + ih) * w + iw] += g;
                        }
                    }
                }
            }
        }
        return dx;
    }

    static double[] avgForward(Shape xs, double[] x) {
        int planes = xs.dim(0) * xs.dim(1), hw = xs.dim(2) * xs.dim(3);
        double[] y = new double[planes];
        for (int pl = 0; pl < planes; pl++) {
            double s = 0;
            for (int i = 0; i < hw; i++) {
                s += x[pl * hw + i];
            }
            y[pl] = s / hw;
        }
        return y;
    }

    static double[] avgBackward(Shape xs, double[] dy) {
        int planes = xs.dim(0) * xs.dim(1), hw = xs.dim(2) * xs.dim(3);
        double[] dx = new double[planes * hw];
        for (int pl = 0; pl < planes; pl++) {
            for (int i = 0; i < hw; i++) {
                dx[pl * hw + i] = dy[pl] / hw;
            }
        }
        return dx;
    }
}
