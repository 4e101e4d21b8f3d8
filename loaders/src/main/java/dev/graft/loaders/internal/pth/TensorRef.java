package dev.graft.loaders.internal.pth;

/**
 * A tensor as {@code _rebuild_tensor_v2} describes it: a view of a storage with an element offset, sizes and
 * strides (elements). {@code at} is the byte offset of the pickle opcode that made it, for error messages.
 */
public record TensorRef(StorageRef storage, long offset, long[] size, long[] stride, long at) {
}
