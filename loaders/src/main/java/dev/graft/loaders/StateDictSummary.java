package dev.graft.loaders;

import java.util.List;
import java.util.Map;

/**
 * What a file holds, read from its headers and pickle without reading tensor data: for {@code graft inspect}.
 * {@code selectedKey} is where the state dict sat in a wrapped checkpoint ("" at the top level);
 * {@code recordsDigests}: the file records a SHA-256 per tensor ({@link TensorInfo#sha256()}).
 */
public record StateDictSummary(String file, Format format, String selectedKey, List<TensorInfo> tensors,
                               List<SkippedEntry> skipped, Map<String, String> metadata, boolean recordsDigests) {
    public StateDictSummary {
        tensors = List.copyOf(tensors);
        skipped = List.copyOf(skipped);
        metadata = Map.copyOf(metadata);
    }

    /** Elements of all tensors. */
    public long elementCount() {
        return tensors.stream().mapToLong(TensorInfo::numel).sum();
    }

    /**
     * Elements of the floating-point tensors: parameters plus float buffers such as BatchNorm's running
     * statistics (a state dict does not say which is which); integer buffers are left out.
     */
    public long floatingElementCount() {
        return tensors.stream().filter(t -> t.storedType().startsWith("float") || t.storedType().equals("bfloat16"))
                .mapToLong(TensorInfo::numel).sum();
    }
}
