package dev.graft.loaders;

import dev.graft.engine.StateDict;
import dev.graft.loaders.internal.SafeTensorsWriter;
import java.nio.file.Path;

/**
 * safetensors files. Reading widens F16/BF16 to F32 and integer types to I64 (recording the stored type);
 * writing stores F32, F64 and I64 as they are, with {@link StateDict#metadata()} as {@code __metadata__}.
 *
 * <p>Integrity: every file Graft writes records the SHA-256 of each tensor's bytes under {@value #META_SHA256}
 * (a JSON object from tensor name to 64 hex digits), and reading checks each tensor against it as the tensor is
 * read, so a streaming load ({@link StateDictFile}) verifies what it reads without holding the rest. A mismatch is
 * an {@link IntegrityException} naming the tensor and its byte range. Per tensor rather than one digest of the
 * whole buffer, because a digest of the whole buffer could only be checked after reading every tensor, and would
 * say that the file is damaged but not where. The record is not part of the metadata a load returns (it
 * describes the file's bytes, not the model), and files without it (from other tools) load unverified. It
 * detects damage, not tampering: whoever edits the data can rewrite the record too.
 */
public final class SafeTensors {
    /** The metadata key of the per-tensor SHA-256 record. */
    public static final String META_SHA256 = "graft.sha256";

    private SafeTensors() {
    }

    public static StateDict read(Path file) {
        LoadResult r = StateDicts.load(file, LoadOptions.defaults());
        if (r.format() != Format.SAFETENSORS) {
            throw new FormatException(file.toString(), "is a " + r.format().displayName() + " file, not safetensors");
        }
        return r.stateDict();
    }

    /**
     * Atomic: a temporary file in the same directory, forced to disk, then renamed over {@code file}. Refuses, before
     * touching the file, what a reader would refuse: the names {@code __metadata__} (tensor) and {@value #META_SHA256}
     * (metadata), strings that are not valid Unicode, more than {@link LoadLimits#MAX_RANK} dimensions.
     */
    public static void write(Path file, StateDict dict) {
        SafeTensorsWriter.write(file, dict);
    }
}
