package dev.graft.loaders.internal.pth;

import java.nio.ByteOrder;

/** Where a storage's raw bytes lie in the file: {@code length} bytes at {@code offset}, in {@code order}. */
public record StorageData(long offset, long length, ByteOrder order) {
}
