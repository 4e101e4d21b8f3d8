package dev.graft.loaders.internal;

import dev.graft.loaders.Format;
import dev.graft.loaders.SkippedEntry;
import java.util.List;
import java.util.Map;

/**
 * What any reader found in a file, before any tensor data is read. {@code recordsDigests}: the file records a
 * SHA-256 per tensor ({@link StoredTensor#sha256()}), which loading verifies.
 */
public record Contents(Format format, List<StoredTensor> tensors, List<SkippedEntry> skipped, String selectedKey,
                       Map<String, String> metadata, boolean recordsDigests) {
    public Contents(Format format, List<StoredTensor> tensors, List<SkippedEntry> skipped, String selectedKey,
                    Map<String, String> metadata) {
        this(format, tensors, skipped, selectedKey, metadata, false);
    }
}
