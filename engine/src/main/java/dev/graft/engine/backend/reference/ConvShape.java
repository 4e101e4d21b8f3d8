package dev.graft.engine.backend.reference;

import dev.graft.engine.Shape;
import dev.graft.engine.backend.Conv2dSpec;

/** Sizes of one convolution: input [N,C,H,W], weights [K,C/G,R,S], output [N,K,P,Q]. */
record ConvShape(int n, int c, int h, int w, int k, int r, int s, int p, int q, int groups, Conv2dSpec spec) {

    static ConvShape of(Shape x, Shape wt, Conv2dSpec spec) {
        int p = Conv2dSpec.outputSize(x.dim(2), wt.dim(2), spec.strideH(), spec.padH(), spec.dilationH());
        int q = Conv2dSpec.outputSize(x.dim(3), wt.dim(3), spec.strideW(), spec.padW(), spec.dilationW());
        return new ConvShape(x.dim(0), x.dim(1), x.dim(2), x.dim(3), wt.dim(0), wt.dim(2), wt.dim(3), p, q, spec.groups(), spec);
    }

    Shape outputShape() {
        return Shape.of(n, k, p, q);
    }

    int cPerGroup() {
        return c / groups;
    }

    int kPerGroup() {
        return k / groups;
    }
}
