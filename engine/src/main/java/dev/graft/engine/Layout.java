package dev.graft.engine;

/**
 * Physical order of a tensor's elements. The logical shape is always PyTorch's (NCHW for image batches);
 * a 4-D activation may be stored channels-last (NHWC), the order oneDNN and cuDNN run fastest.
 */
public enum Layout {
    /** Dense row-major over the logical shape. */
    ROW_MAJOR,
    /** Rank 4 only: logical NCHW stored as NHWC (PyTorch's {@code channels_last}). */
    CHANNELS_LAST
}
