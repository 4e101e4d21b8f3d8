package dev.graft.loaders;

import java.util.List;

/**
 * The outcome of checking a file's tensors against the SHA-256 digests it records ({@link StateDicts#verify}):
 * {@code recorded} is false for files without digests (nothing was checked); otherwise {@code verified} tensors
 * ({@code bytes} bytes) matched and each of {@code failures} names a tensor that did not.
 */
public record Verification(String file, boolean recorded, int verified, long bytes, List<IntegrityException> failures) {
    public Verification {
        failures = List.copyOf(failures);
    }

    /** Digests were recorded and every tensor matched. */
    public boolean ok() {
        return recorded && failures.isEmpty();
    }
}
