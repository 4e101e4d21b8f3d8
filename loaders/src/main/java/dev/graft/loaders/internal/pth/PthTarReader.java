package dev.graft.loaders.internal.pth;

import dev.graft.loaders.internal.ByteCursor;
import dev.graft.loaders.internal.ElementType;
import dev.graft.loaders.internal.Shapes;
import dev.graft.loaders.internal.Source;
import dev.graft.loaders.internal.TarArchive;
import dev.graft.loaders.internal.pickle.Describe;
import dev.graft.loaders.internal.pickle.PyTuple;
import dev.graft.loaders.internal.pickle.Unpickler;
import java.nio.ByteOrder;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The oldest {@code torch.save} layout (PyTorch before 0.4; {@code torch/serialization.py} {@code legacy_load}):
 * a tar with members {@code storages} (a count, then per storage a pickled {@code (key, location, type)}, an int64
 * element count and the raw little-endian bytes, then a pickled list of {@code (view, root, offset, numel)}
 * views), {@code tensors} (a count, then per tensor a pickled {@code (key, storage key, type)}, int32 ndim, 4
 * padding bytes, ndim int64 sizes, ndim int64 strides, an int64 offset) and {@code pickle} (the object, whose
 * persistent ids are tensor keys).
 */
public final class PthTarReader {
    private PthTarReader() {
    }

    public static PthContents read(Source src) {
        TarArchive tar = TarArchive.read(src);
        TorchGlobals plain = new TorchGlobals((pid, at) -> {
            throw at.error("unexpected persistent id outside the tar 'pickle' member");
        });
        Map<String, StorageData> data = new HashMap<>();
        Map<String, StorageRef> storages = new HashMap<>();
        ByteCursor in = cursor(src, tar, "storages");
        long count = count(in, plain);
        for (long i = 0; i < count; i++) {
            long at = in.position();
            Object args = new Unpickler(in, plain).load();
            if (!(args instanceof PyTuple t) || t.size() != 3) {
                throw src.error(at, "tar storage record must be (key, location, type), got " + Describe.value(args));
            }
            String key = keyOf(src, t.get(0), at);
            ElementType type = storageType(src, t.get(2), at);
            long numel = in.le(8, "storage element count");
            long bytes = Shapes.bytes(src, at, numel, type.bytes(), "storage '" + key + "'");
            if (numel < 0 || bytes > in.remaining()) {
                throw src.error(at, "storage '" + key + "' claims " + numel + " elements but only " + in.remaining() + " bytes remain");
            }
            data.put(key, new StorageData(in.position(), bytes, ByteOrder.LITTLE_ENDIAN));
            storages.put(key, StorageRef.whole(type, key, numel));
            in.skip(bytes, "storage data");
        }
        long at = in.position();
        if (!(new Unpickler(in, plain).load() instanceof List<?> views)) {
            throw src.error(at, "tar storage views must be a list");
        }
        for (Object v : views) {
            if (!(v instanceof PyTuple t) || t.size() != 4) {
                throw src.error(at, "tar storage view must be (view, root, offset, numel)");
            }
            StorageRef root = storages.get(keyOf(src, t.get(1), at));
            if (root == null || !(t.get(2) instanceof Long offset) || !(t.get(3) instanceof Long numel)) {
                throw src.error(at, "tar storage view of an unknown storage or with non-integer bounds");
            }
            storages.put(keyOf(src, t.get(0), at), new StorageRef(root.type(), root.key(), root.numel(), offset, numel));
        }
        Map<String, TensorRef> tensors = readTensors(src, cursor(src, tar, "tensors"), plain, storages);
        ByteCursor top = cursor(src, tar, "pickle");
        Object root = new Unpickler(top, new TorchGlobals((pid, c) -> {
            if (pid instanceof PyTuple) {
                throw c.error("the file pickles a whole nn.Module; save its state_dict() instead");
            }
            TensorRef t = tensors.get(TorchGlobals.text(pid, "tensor key", c));
            if (t == null) {
                throw c.error("persistent id " + Describe.value(pid) + " names no tensor in the 'tensors' member");
            }
            return t;
        })).load();
        return new PthContents(root, data);
    }

    private static Map<String, TensorRef> readTensors(Source src, ByteCursor in, TorchGlobals plain, Map<String, StorageRef> storages) {
        Map<String, TensorRef> tensors = new HashMap<>();
        long count = count(in, plain);
        for (long i = 0; i < count; i++) {
            long at = in.position();
            Object args = new Unpickler(in, plain).load();
            if (!(args instanceof PyTuple t) || t.size() != 3) {
                throw src.error(at, "tar tensor record must be (key, storage key, type), got " + Describe.value(args));
            }
            String key = keyOf(src, t.get(0), at);
            StorageRef storage = storages.get(keyOf(src, t.get(1), at));
            if (storage == null) {
                throw src.error(at, "tensor '" + key + "' refers to storage " + Describe.value(t.get(1)) + ", which is not in the file");
            }
            int ndim = (int) in.le(4, "tensor ndim");
            in.skip(4, "ndim padding");
            if (ndim < 0 || ndim > dev.graft.loaders.LoadLimits.MAX_RANK) {
                throw src.error(at, "tensor '" + key + "' has " + ndim + " dimensions; at most "
                        + dev.graft.loaders.LoadLimits.MAX_RANK + " are supported");
            }
            long[] size = new long[ndim];
            long[] stride = new long[ndim];
            for (int d = 0; d < ndim; d++) {
                size[d] = in.le(8, "tensor size");
            }
            for (int d = 0; d < ndim; d++) {
                stride[d] = in.le(8, "tensor stride");
            }
            long offset = in.le(8, "tensor offset");
            tensors.put(key, new TensorRef(storage, offset, size, stride, at));
        }
        return tensors;
    }

    private static ByteCursor cursor(Source src, TarArchive tar, String member) {
        TarArchive.Member m = tar.members().get(member);
        if (m == null) {
            throw src.error(-1, "tar has no '" + member + "' member; not a torch.save tar (members: " + tar.members().keySet() + ")");
        }
        return new ByteCursor(src, m.dataOffset(), m.dataOffset() + m.size());
    }

    private static long count(ByteCursor in, TorchGlobals plain) {
        long at = in.position();
        Object n = new Unpickler(in, plain).load();
        if (!(n instanceof Long c) || c < 0) {
            throw in.error(at, "expected a record count, got " + Describe.value(n));
        }
        return c;
    }

    private static String keyOf(Source src, Object k, long at) {
        if (k instanceof String || k instanceof Long) {
            return k.toString();
        }
        throw src.error(at, "storage or tensor key must be a str or int, got " + Describe.value(k));
    }

    private static ElementType storageType(Source src, Object g, long at) {
        if (g instanceof dev.graft.loaders.internal.pickle.PyGlobal p && p.module().equals("torch")
                && TorchGlobals.STORAGES.containsKey(p.name())) {
            return TorchGlobals.STORAGES.get(p.name());
        }
        throw src.error(at, "expected a storage type such as torch.FloatStorage, got " + Describe.value(g));
    }
}
