package dev.graft.engine.backend;

/**
 * Average-pooling window with PyTorch's meaning ({@code F.avg_pool2d}, ceil_mode off, no divisor override): each
 * output is the sum of the window's cells inside the input divided by {@code kernelH * kernelW} when
 * {@code countIncludePad} (padded cells count as zeros; torch's default), else by the number of cells inside the
 * input.
 */
public record AvgPool2dSpec(int kernelH, int kernelW, int strideH, int strideW, int padH, int padW,
                            boolean countIncludePad) {

    /** Square window, {@code count_include_pad=True} (torch's default, as torchvision's Inception uses it). */
    public static AvgPool2dSpec of(int kernel, int stride, int padding) {
        return new AvgPool2dSpec(kernel, kernel, stride, stride, padding, padding, true);
    }

    public static AvgPool2dSpec of(int kernel, int stride, int padding, boolean countIncludePad) {
        return new AvgPool2dSpec(kernel, kernel, stride, stride, padding, padding, countIncludePad);
    }

    /** The divisor of the output whose window starts at padded rows/columns {@code h0}, {@code w0} of an H x W input. */
    public int divisor(int h0, int w0, int h, int w) {
        if (countIncludePad) {
            return kernelH * kernelW;
        }
        int rows = Math.min(h0 + kernelH, h) - Math.max(h0, 0);
        int cols = Math.min(w0 + kernelW, w) - Math.max(w0, 0);
        return rows * cols;
    }
}
