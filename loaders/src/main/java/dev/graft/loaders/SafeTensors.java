package dev.graft.loaders;

import dev.graft.engine.StateDict;
import dev.graft.loaders.internal.SafeTensorsWriter;
import java.nio.file.Path;

/**
 * safetensors files. Reading widens F16/BF16 to F32 and integer types to I64 (recording the stored type);
 * writing stores F32, F64 and I64 as they are, with {@link StateDict#metadata()} as {@code __metadata__}.
 */
public final class SafeTensors {
    private SafeTensors() {
    }

    public static StateDict read(Path file) {
        LoadResult r = StateDicts.load(file, LoadOptions.defaults());
        if (r.format() != Format.SAFETENSORS) {
            throw new FormatException(file.toString(), "is a " + r.format().displayName() + " file, not safetensors");
        }
        return r.stateDict();
    }

    /** Atomic: a temporary file in the same directory, forced to disk, then renamed over {@code file}. */
    public static void write(Path file, StateDict dict) {
        SafeTensorsWriter.write(file, dict);
    }
}
