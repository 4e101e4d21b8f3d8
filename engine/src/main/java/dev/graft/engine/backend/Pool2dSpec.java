package dev.graft.engine.backend;

/** Max-pooling window with PyTorch's meaning: padded cells count as minus infinity; ceil_mode off. */
public record Pool2dSpec(int kernelH, int kernelW, int strideH, int strideW, int padH, int padW) {

    public static Pool2dSpec of(int kernel, int stride, int padding) {
        return new Pool2dSpec(kernel, kernel, stride, stride, padding, padding);
    }
}
