package dev.graft.engine.backend.reference;

import dev.graft.engine.Shape;

/** Index arithmetic for right-aligned broadcasting and channels-last permutation. */
final class Broadcast {
    private Broadcast() {
    }

    /** For each row-major index of {@code to}, the row-major index of {@code from} it reads (from broadcasts to to). */
    static int[] indexMap(Shape from, Shape to) {
        int rank = to.rank();
        int off = rank - from.rank();
        int[] fromStrides = from.strides();
        int[] stride = new int[rank];
        for (int i = 0; i < from.rank(); i++) {
            stride[i + off] = from.dim(i) == 1 ? 0 : fromStrides[i];
        }
        int[] map = new int[to.numel()];
        int[] idx = new int[rank];
        int pos = 0;
        for (int i = 0; i < map.length; i++) {
            map[i] = pos;
            for (int d = rank - 1; d >= 0; d--) {
                idx[d]++;
                pos += stride[d];
                if (idx[d] < to.dim(d)) {
                    break;
                }
                pos -= stride[d] * idx[d];
                idx[d] = 0;
            }
        }
        return map;
    }

    /** NHWC-ordered values of a logical [N,C,H,W] shape to NCHW order. */
    static double[] fromChannelsLast(Shape s, double[] nhwc) {
        int n = s.dim(0), c = s.dim(1), hw = s.dim(2) * s.dim(3);
        double[] out = new double[nhwc.length];
        for (int b = 0; b < n; b++) {
            for (int p = 0; p < hw; p++) {
                for (int ch = 0; ch < c; ch++) {
                    out[(b * c + ch) * hw + p] = nhwc[(b * hw + p) * c + ch];
                }
            }
        }
        return out;
    }

    /** NCHW-ordered values to NHWC order. */
    static double[] toChannelsLast(Shape s, double[] nchw) {
        int n = s.dim(0), c = s.dim(1), hw = s.dim(2) * s.dim(3);
        double[] out = new double[nchw.length];
        for (int b = 0; b < n; b++) {
            for (int p = 0; p < hw; p++) {
                for (int ch = 0; ch < c; ch++) {
                    out[(b * hw + p) * c + ch] = nchw[(b * c + ch) * hw + p];
                }
            }
        }
        return out;
    }
}
