package dev.graft.engine.backend;

/**
 * Convolution hyper-parameters, with PyTorch's meaning: dilation 1 is dense (oneDNN counts from 0, convert
 * there), padding is symmetric, groups split input and output channels. Cross-correlation, as in PyTorch.
 */
public record Conv2dSpec(int strideH, int strideW, int padH, int padW, int dilationH, int dilationW, int groups) {

    public static Conv2dSpec of(int stride, int padding) {
        return new Conv2dSpec(stride, stride, padding, padding, 1, 1, 1);
    }

    public static Conv2dSpec of(int stride, int padding, int dilation, int groups) {
        return new Conv2dSpec(stride, stride, padding, padding, dilation, dilation, groups);
    }

    /** Output size along one axis: floor((in + 2p - d(k-1) - 1) / s) + 1. */
    public static int outputSize(int in, int kernel, int stride, int pad, int dilation) {
        return Math.floorDiv(in + 2 * pad - dilation * (kernel - 1) - 1, stride) + 1;
    }
}
