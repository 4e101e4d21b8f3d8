package dev.graft.models;

import java.util.List;

/**
 * What {@link Module#load} did, as {@code load_state_dict}'s result plus the shape mismatches PyTorch raises
 * on: keys loaded, keys the model has and the file lacks, keys the file has and the model lacks, keys whose
 * shapes differ (e.g. a 1000-class {@code fc} against a 2-class head; skipped when not strict), keys that were
 * absent and set to their default ({@code num_batches_tracked} = 0), and the key prefix stripped first, if any.
 */
public record LoadReport(List<String> loaded, List<String> missing, List<String> unexpected,
                         List<ShapeMismatch> shapeMismatches, List<String> defaulted, String strippedPrefix) {

    /** A key present in both, with different shapes. */
    public record ShapeMismatch(String key, List<Integer> modelShape, List<Integer> fileShape) {
        @Override
        public String toString() {
            return key + " (model " + modelShape + ", file " + fileShape + ")";
        }
    }

    /** True when every model key was loaded (or defaulted) and nothing was left over. */
    public boolean isComplete() {
        return missing.isEmpty() && unexpected.isEmpty() && shapeMismatches.isEmpty();
    }

    /** The keys that kept their current values because the file had no usable tensor for them. */
    public List<String> notLoaded() {
        java.util.List<String> out = new java.util.ArrayList<>(missing);
        shapeMismatches.forEach(m -> out.add(m.key()));
        return out;
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder("loaded " + loaded.size() + " tensors");
        if (!strippedPrefix.isEmpty()) {
            b.append(" (key prefix '").append(strippedPrefix).append("' stripped)");
        }
        if (!missing.isEmpty()) {
            b.append("; missing ").append(missing);
        }
        if (!unexpected.isEmpty()) {
            b.append("; unexpected ").append(unexpected);
        }
        if (!shapeMismatches.isEmpty()) {
            b.append("; shape mismatch ").append(shapeMismatches);
        }
        if (!defaulted.isEmpty()) {
            b.append("; defaulted ").append(defaulted.size()).append(" num_batches_tracked to 0");
        }
        return b.toString();
    }
}
