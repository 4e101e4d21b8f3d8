package dev.graft.loaders;

import dev.graft.engine.StateDict;
import java.util.List;

/**
 * A loaded state dict and what was left out: {@code selectedKey} is the key path of the dict that was taken
 * ("" for the top level), {@code skipped} names every non-tensor entry beside the tensors.
 */
public record LoadResult(Format format, StateDict stateDict, String selectedKey, List<SkippedEntry> skipped) {
    public LoadResult {
        skipped = List.copyOf(skipped);
    }
}
