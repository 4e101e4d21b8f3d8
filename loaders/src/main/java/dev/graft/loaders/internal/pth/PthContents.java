package dev.graft.loaders.internal.pth;

import java.util.Map;

/** What a {@code .pth} reader found: the unpickled root object and where each storage's bytes are. */
public record PthContents(Object root, Map<String, StorageData> storages) {
}
