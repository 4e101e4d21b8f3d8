package dev.graft.loaders;

import dev.graft.engine.GraftException;
import dev.graft.engine.StateDict;
import dev.graft.loaders.internal.Contents;
import dev.graft.loaders.internal.Readers;
import dev.graft.loaders.internal.Source;
import dev.graft.loaders.internal.StoredTensor;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The loaders' entry point: reads a state dict from any supported file, telling the format from its content
 * ({@link Format}), and summarizes files for {@code graft inspect}. Bad content is a {@link FormatException}
 * (file, byte offset, reason; an {@link IntegrityException} for bytes that do not match their recorded digest);
 * an unreadable file is a {@link GraftException}. A load first adds up the heap its tensors will take and refuses
 * with a {@link LoadLimitException} when that exceeds {@link LoadOptions#budget()}, before reading any data.
 */
public final class StateDicts {
    private StateDicts() {
    }

    public static Format detect(Path file) {
        try (Source src = Source.open(file)) {
            return Readers.detect(src);
        }
    }

    /** All tensors of the file's state dict (a wrapped checkpoint's is found automatically). */
    public static StateDict read(Path file) {
        return load(file, LoadOptions.defaults()).stateDict();
    }

    public static LoadResult load(Path file, LoadOptions options) {
        try (Source src = Source.open(file)) {
            return load(src, options, stem(file));
        }
    }

    /** Reads from bytes already in memory; {@code name} stands for the file in messages. */
    public static LoadResult load(byte[] bytes, String name, LoadOptions options) {
        return load(Source.of(name, bytes), options, stem(Path.of(name)));
    }

    private static LoadResult load(Source src, LoadOptions options, String stem) {
        Contents c = Readers.open(src, options, stem);
        long budget = options.budget();
        long total = 0;
        for (StoredTensor t : c.tensors()) {
            total = saturatedAdd(total, t.heapBytes());
        }
        if (total > budget) {
            throw new LoadLimitException("loading the " + c.tensors().size() + " tensors of " + src.name(), total, budget);
        }
        StateDict dict = new StateDict();
        for (StoredTensor t : c.tensors()) {
            if (dict.contains(t.name())) {
                throw new FormatException(src.name(), "tensor name '" + t.name() + "' appears twice");
            }
            dict.put(t.name(), t.load(budget));
        }
        dict.metadata().putAll(c.metadata());
        return new LoadResult(c.format(), dict, c.selectedKey(), c.skipped());
    }

    private static long saturatedAdd(long a, long b) {
        long s = a + b;
        return s < 0 ? Long.MAX_VALUE : s;
    }

    public static StateDictSummary inspect(Path file) {
        return inspect(file, LoadOptions.defaults());
    }

    /** Names, stored types, shapes and recorded digests, without reading tensor data. */
    public static StateDictSummary inspect(Path file, LoadOptions options) {
        try (Source src = Source.open(file)) {
            Contents c = Readers.open(src, options, stem(file));
            List<TensorInfo> infos = new ArrayList<>();
            for (StoredTensor t : c.tensors()) {
                infos.add(new TensorInfo(t.name(), t.type().torchName(), t.shape(), t.sha256() == null ? "" : t.sha256()));
            }
            return new StateDictSummary(file.toString(), c.format(), c.selectedKey(), infos, c.skipped(), c.metadata(),
                    c.recordsDigests());
        }
    }

    /**
     * Reads every tensor's stored bytes in bounded chunks and checks them against the SHA-256 digests the file
     * records (files Graft writes do; see {@link SafeTensors}). Nothing is converted, so this takes little heap
     * whatever the file's size; it costs one read of the data.
     */
    public static Verification verify(Path file, LoadOptions options) {
        try (Source src = Source.open(file)) {
            Contents c = Readers.open(src, options, stem(file));
            int verified = 0;
            long bytes = 0;
            List<IntegrityException> failures = new ArrayList<>();
            if (c.recordsDigests()) {
                for (StoredTensor t : c.tensors()) {
                    try {
                        if (t.verify()) {
                            verified++;
                            bytes += (long) t.shape().numel() * t.type().bytes();
                        }
                    } catch (IntegrityException e) {
                        failures.add(e);
                    }
                }
            }
            return new Verification(file.toString(), c.recordsDigests(), verified, bytes, failures);
        }
    }

    /**
     * Writes by extension: {@code .safetensors} (any state dict, metadata kept) or {@code .npy} (exactly one
     * tensor). Atomic: the target is replaced only by a complete file.
     */
    public static void write(Path file, StateDict dict) {
        String name = file.getFileName().toString();
        if (name.endsWith(".safetensors")) {
            SafeTensors.write(file, dict);
        } else if (name.endsWith(".npy")) {
            if (dict.size() != 1) {
                throw new GraftException("cannot write " + file + ": a .npy file holds one array, the state dict has " + dict.size());
            }
            Npy.write(file, dict.tensors().values().iterator().next());
        } else {
            throw new GraftException("cannot write " + file + ": use a .safetensors or .npy extension (PyTorch .pth is read-only)");
        }
    }

    static String stem(Path file) {
        Path name = file.getFileName();
        String s = name == null ? "tensor" : name.toString();
        int dot = s.lastIndexOf('.');
        return dot > 0 ? s.substring(0, dot) : s;
    }
}
