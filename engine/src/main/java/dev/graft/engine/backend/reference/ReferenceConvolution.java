package dev.graft.engine.backend.reference;

/**
 * Direct convolution loops. NCHW activations, OIHW weights (grouped: [K, C/G, R, S], output channel k in
 * group k / (K/G)), cross-correlation as in PyTorch: input row = out_row * stride - pad + r * dilation.
 */
final class ReferenceConvolution {
    private ReferenceConvolution() {
    }

    static double[] forward(ConvShape z, double[] x, double[] w, double[] bias) {
        double[] y = new double[z.n() * z.k() * z.p() * z.q()];
        int cg = z.cPerGroup();
        var sp = z.spec();
        for (int b = 0; b < z.n(); b++) {
            for (int k = 0; k < z.k(); k++) {
                int c0 = (k / z.kPerGroup()) * cg;
                for (int oh = 0; oh < z.p(); oh++) {
                    for (int ow = 0; ow < z.q(); ow++) {
                        double acc = bias == null ? 0 : bias[k];
                        for (int c = 0; c < cg; c++) {
                            for (int r = 0; r < z.r(); r++) {
                                int ih = oh * sp.strideH() - sp.padH() + r * sp.dilationH();
                                if (ih < 0 || ih >= z.h()) {
                                    continue;
                                }
                                for (int s = 0; s < z.s(); s++) {
                                    int iw = ow * sp.strideW() - sp.padW() + s * sp.dilationW();
                                    if (iw < 0 || iw >= z.w()) {
                                        continue;
                                    }
                                    acc += x[((b * z.c() + c0 + c) * z.h() + ih) * z.w() + iw]
                                            * w[((k * cg + c) * z.r() + r) * z.s() + s];
                                }
                            }
                        }
                        y[((b * z.k() + k) * z.p() + oh) * z.q() + ow] = acc;
                    }
                }
            }
        }
        return y;
    }

    /** dL/dx: every output position scatters dy * w back to the inputs it read. */
    static double[] backwardData(ConvShape z, double[] dy, double[] w) {
        double[] dx = new double[z.n() * z.c() * z.h() * z.w()];
        int cg = z.cPerGroup();
        var sp = z.spec();
        for (int b = 0; b < z.n(); b++) {
            for (int k = 0; k < z.k(); k++) {
                int c0 = (k / z.kPerGroup()) * cg;
                for (int oh = 0; oh < z.p(); oh++) {
                    for (int ow = 0; ow < z.q(); ow++) {
                        double g = dy[((b * z.k() + k) * z.p() + oh) * z.q() + ow];
                        for (int c = 0; c < cg; c++) {
                            for (int r = 0; r < z.r(); r++) {
                                int ih = oh * sp.strideH() - sp.padH() + r * sp.dilationH();
                                if (ih < 0 || ih >= z.h()) {
                                    continue;
                                }
                                for (int s = 0; s < z.s(); s++) {
                                    int iw = ow * sp.strideW() - sp.padW() + s * sp.dilationW();
                                    if (iw < 0 || iw >= z.w()) {
                                        continue;
                                    }
                                    dx[((b * z.c() + c0 + c) * z.h() + ih) * z.w() + iw] += g * w[((k * cg + c) * z.r() + r) * z.s() + s];
                                }
                            }
                        }
                    }
                }
            }
        }
        return dx;
    }

    /** dL/dw: sum over batch and output positions of dy * the input value each weight met. */
    static double[] backwardWeights(ConvShape z, double[] dy, double[] x) {
        int cg = z.cPerGroup();
        double[] dw = new double[z.k() * cg * z.r() * z.s()];
        var sp = z.spec();
        for (int b = 0; b < z.n(); b++) {
            for (int k = 0; k < z.k(); k++) {
                int c0 = (k / z.kPerGroup()) * cg;
                for (int oh = 0; oh < z.p(); oh++) {
                    for (int ow = 0; ow < z.q(); ow++) {
                        double g = dy[((b * z.k() + k) * z.p() + oh) * z.q() + ow];
                        for (int c = 0; c < cg; c++) {
                            for (int r = 0; r < z.r(); r++) {
                                int ih = oh * sp.strideH() - sp.padH() + r * sp.dilationH();
                                if (ih < 0 || ih >= z.h()) {
                                    continue;
                                }
                                for (int s = 0; s < z.s(); s++) {
                                    int iw = ow * sp.strideW() - sp.padW() + s * sp.dilationW();
                                    if (iw < 0 || iw >= z.w()) {
                                        continue;
                                    }
                                    dw[((k * cg + c) * z.r() + r) * z.s() + s] += g * x[((b * z.c() + c0 + c) * z.h() + ih) * z.w() + iw];
                                }
                            }
                        }
                    }
                }
            }
        }
        return dw;
    }
}
