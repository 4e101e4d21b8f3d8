package dev.graft.loaders.internal.pth;

import dev.graft.loaders.internal.ByteCursor;
import dev.graft.loaders.internal.ElementType;
import dev.graft.loaders.internal.Shapes;
import dev.graft.loaders.internal.Source;
import dev.graft.loaders.internal.pickle.Describe;
import dev.graft.loaders.internal.pickle.PyNone;
import dev.graft.loaders.internal.pickle.PyTuple;
import dev.graft.loaders.internal.pickle.Unpickler;
import java.math.BigInteger;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The pre-1.6 stream ({@code torch/serialization.py} {@code _legacy_save}): five pickles back to back (the magic
 * number, protocol version 1001, a sys_info dict, the object, the sorted list of storage keys) and then, per key
 * in that order, an int64 little-endian element count and the storage's raw bytes. Storage data is always
 * little-endian (the C++ writer converts). Persistent ids are
 * {@code ('storage', type, root_key, location, numel, view_metadata)}, the last being None or
 * {@code (view_key, offset, size)} in elements.
 */
public final class PthLegacyReader {
    public static final BigInteger MAGIC = new BigInteger("1950a86a20f9469cfc6c", 16);
    private static final long PROTOCOL_VERSION = 1001;

    private PthLegacyReader() {
    }

    /** Whether the file starts like a legacy stream: PROTO n, LONG1 of 10 bytes holding the magic number. */
    public static boolean looksLike(byte[] head) {
        byte[] magic = {(byte) 0x8a, 0x0a, 0x6c, (byte) 0xfc, (byte) 0x9c, 0x46, (byte) 0xf9, 0x20, 0x6a, (byte) 0xa8, 0x50, 0x19};
        if (head.length < 2 + magic.length || (head[0] & 0xFF) != 0x80) {
            return false;
        }
        for (int i = 0; i < magic.length; i++) {
            if (head[2 + i] != magic[i]) {
                return false;
            }
        }
        return true;
    }

    public static PthContents read(Source src) {
        ByteCursor in = new ByteCursor(src, 0, src.size());
        Map<String, ElementType> seen = new HashMap<>();
        TorchGlobals plain = new TorchGlobals((pid, at) -> {
            throw at.error("unexpected persistent id in a legacy header pickle");
        });
        long at = in.position();
        if (!MAGIC.equals(asBig(new Unpickler(in, plain).load()))) {
            throw src.error(at, "legacy torch magic number missing; not a torch.save stream");
        }
        at = in.position();
        Object version = new Unpickler(in, plain).load();
        if (!Long.valueOf(PROTOCOL_VERSION).equals(version)) {
            throw src.error(at, "legacy protocol version " + Describe.value(version) + " is not 1001");
        }
        new Unpickler(in, plain).load();                       // sys_info: the data is little-endian regardless
        Object root = new Unpickler(in, new TorchGlobals((pid, c) -> storage(pid, c, seen))).load();
        at = in.position();
        Object keys = new Unpickler(in, plain).load();
        if (!(keys instanceof List<?> list)) {
            throw src.error(at, "legacy storage key list is a " + Describe.type(keys));
        }
        Map<String, StorageData> storages = new HashMap<>();
        for (Object k : list) {
            String key = String.valueOf(k instanceof String || k instanceof Long ? k : Describe.value(k));
            long pos = in.position();
            ElementType type = seen.get(key);
            if (type == null) {
                throw src.error(pos, "storage '" + key + "' is listed but no tensor refers to it, so its element size is unknown");
            }
            long numel = in.le(8, "storage element count");
            long bytes = Shapes.bytes(src, pos, numel, type.bytes(), "storage '" + key + "'");
            if (numel < 0 || bytes > in.remaining()) {
                throw src.error(pos, "storage '" + key + "' claims " + numel + " elements (" + bytes + " bytes) but only "
                        + in.remaining() + " bytes remain");
            }
            storages.put(key, new StorageData(in.position(), bytes, ByteOrder.LITTLE_ENDIAN));
            in.skip(bytes, "storage '" + key + "'");
        }
        return new PthContents(root, storages);
    }

    private static BigInteger asBig(Object v) {
        return v instanceof BigInteger b ? b : v instanceof Long l ? BigInteger.valueOf(l) : null;
    }

    private static Object storage(Object pid, Unpickler.Context at, Map<String, ElementType> seen) {
        if (pid instanceof PyTuple t && t.size() == 4 && "module".equals(t.get(0))) {
            throw at.error("the file pickles a whole nn.Module (" + Describe.value(t.get(1)) + "); save its state_dict() instead");
        }
        if (!(pid instanceof PyTuple t) || t.size() != 6 || !"storage".equals(t.get(0))) {
            throw at.error("persistent id must be ('storage', type, key, location, numel, view), got " + Describe.value(pid));
        }
        ElementType type = TorchGlobals.storageType(t.get(1), at);
        String key = TorchGlobals.text(t.get(2), "storage key", at);
        long numel = TorchGlobals.integer(t.get(4), "storage numel", at);
        ElementType before = seen.putIfAbsent(key, type);
        if (before != null && before != type) {
            throw at.error("storage '" + key + "' is used as both " + before.torchName() + " and " + type.torchName());
        }
        if (t.get(5) instanceof PyNone) {
            return StorageRef.whole(type, key, numel);
        }
        if (t.get(5) instanceof PyTuple v && v.size() == 3) {
            return new StorageRef(type, key, numel, TorchGlobals.integer(v.get(1), "view offset", at),
                    TorchGlobals.integer(v.get(2), "view size", at));
        }
        throw at.error("storage view metadata must be None or (key, offset, size), got " + Describe.value(t.get(5)));
    }
}
