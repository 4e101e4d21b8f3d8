package dev.graft.loaders;

import dev.graft.engine.HostTensor;
import dev.graft.loaders.internal.NpyFormat;
import java.nio.file.Path;

/** NumPy {@code .npy} arrays: one tensor per file. */
public final class Npy {
    private Npy() {
    }

    /** Reads versions 1-3, C or Fortran order, either byte order; integer and bool types widen to I64. */
    public static HostTensor read(Path file) {
        LoadResult r = StateDicts.load(file, LoadOptions.defaults());
        if (r.format() != Format.NPY) {
            throw new FormatException(file.toString(), "is a " + r.format().displayName() + " file, not .npy");
        }
        return r.stateDict().tensors().values().iterator().next();
    }

    /** Writes version 1.0, C order, little-endian ({@code <f4}, {@code <f8} or {@code <i8}); atomic. */
    public static void write(Path file, HostTensor tensor) {
        NpyFormat.write(file, tensor);
    }
}
