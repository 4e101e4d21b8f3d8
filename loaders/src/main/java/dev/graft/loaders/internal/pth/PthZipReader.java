package dev.graft.loaders.internal.pth;

import dev.graft.loaders.internal.ByteCursor;
import dev.graft.loaders.internal.Source;
import dev.graft.loaders.internal.ZipArchive;
import dev.graft.loaders.internal.pickle.Describe;
import dev.graft.loaders.internal.pickle.PyTuple;
import dev.graft.loaders.internal.pickle.Unpickler;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;

/**
 * The zip layout {@code torch.save} writes since PyTorch 1.6: every record under one folder {@code P/} whose name
 * is taken from the first entry (the file stem, or {@code archive} when saved to a buffer; never assume it),
 * {@code P/data.pkl} (the object), {@code P/data/<key>} (one raw storage per key) and, since PyTorch 2.1,
 * {@code P/byteorder} ({@code little} or {@code big}; absent means little). Persistent ids are
 * {@code ('storage', storage_type, key, location, numel)} ({@code torch/serialization.py} {@code _load}).
 */
public final class PthZipReader {
    private PthZipReader() {
    }

    public static PthContents read(Source src, ZipArchive zip) {
        if (zip.entries().isEmpty()) {
            throw src.error(0, "empty zip archive");
        }
        String first = zip.entries().keySet().iterator().next();
        int slash = first.indexOf('/');
        if (slash <= 0) {
            throw src.error(0, "zip entry '" + first + "' is not inside a folder; not a torch.save archive");
        }
        String prefix = first.substring(0, slash + 1);
        ZipArchive.Entry pkl = zip.entries().get(prefix + "data.pkl");
        if (pkl == null) {
            throw src.error(0, "no '" + prefix + "data.pkl' in the zip; not a torch.save archive (a TorchScript"
                    + " archive or another zip?)");
        }
        ByteOrder order = byteOrder(src, zip.entries().get(prefix + "byteorder"));
        Map<String, StorageData> storages = new HashMap<>();
        String dataPrefix = prefix + "data/";
        for (ZipArchive.Entry e : zip.entries().values()) {
            if (e.name().startsWith(dataPrefix) && e.name().length() > dataPrefix.length()) {
                storages.put(e.name().substring(dataPrefix.length()), new StorageData(e.dataOffset(), e.size(), order));
            }
        }
        ByteCursor in = new ByteCursor(src, pkl.dataOffset(), pkl.dataOffset() + pkl.size());
        Object root = new Unpickler(in, new TorchGlobals(PthZipReader::storage)).load();
        return new PthContents(root, storages);
    }

    private static ByteOrder byteOrder(Source src, ZipArchive.Entry e) {
        if (e == null) {
            return ByteOrder.LITTLE_ENDIAN;
        }
        String s = new String(src.read(e.dataOffset(), Math.min(e.size(), 16), "byteorder"), StandardCharsets.US_ASCII).trim();
        return switch (s) {
            case "little" -> ByteOrder.LITTLE_ENDIAN;
            case "big" -> ByteOrder.BIG_ENDIAN;
            default -> throw src.error(e.dataOffset(), "byteorder record says '" + s + "', expected 'little' or 'big'");
        };
    }

    /** {@code ('storage', torch.FloatStorage, '0', 'cpu', numel)}. */
    static Object storage(Object pid, Unpickler.Context at) {
        if (!(pid instanceof PyTuple t) || t.size() != 5 || !"storage".equals(t.get(0))) {
            throw at.error("persistent id must be ('storage', type, key, location, numel), got " + Describe.value(pid));
        }
        return StorageRef.whole(TorchGlobals.storageType(t.get(1), at), TorchGlobals.text(t.get(2), "storage key", at),
                TorchGlobals.integer(t.get(4), "storage numel", at));
    }
}
