package dev.graft.loaders;

/** An entry of a checkpoint that is not a tensor of the selected state dict, and why it was left out. */
public record SkippedEntry(String key, String reason) {
    @Override
    public String toString() {
        return key + ": " + reason;
    }
}
