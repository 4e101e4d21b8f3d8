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

    /**
     * Output size along one axis: floor((in + 2p - d(k-1) - 1) / s) + 1, computed in long (huge padding or
     * dilation must not wrap around to a plausible size) and clamped to the int range.
     */
    public static int outputSize(int in, int kernel, int stride, int pad, int dilation) {
        long size = Math.floorDiv((long) in + 2L * pad - (long) dilation * (kernel - 1) - 1, (long) stride) + 1;
        return (int) Math.max(Integer.MIN_VALUE, Math.min(Integer.MAX_VALUE, size));
    }
}
