package dev.graft.loaders.internal.pth;

import dev.graft.loaders.internal.ElementType;

/**
 * A storage named by a persistent id: its element type, the key of its bytes in the file, the element count
 * the id claims for the whole storage, and (legacy storage views only) the window {@code [base, base + length)}
 * of it that this reference sees. Offsets and counts are in elements.
 */
public record StorageRef(ElementType type, String key, long numel, long base, long length) {
    public static StorageRef whole(ElementType type, String key, long numel) {
        return new StorageRef(type, key, numel, 0, numel);
    }
}
