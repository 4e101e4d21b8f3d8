package dev.graft.loaders.internal.pth;

import dev.graft.loaders.internal.ElementType;
import dev.graft.loaders.internal.pickle.Describe;
import dev.graft.loaders.internal.pickle.PickleHandler;
import dev.graft.loaders.internal.pickle.PyDict;
import dev.graft.loaders.internal.pickle.PyGlobal;
import dev.graft.loaders.internal.pickle.PyNone;
import dev.graft.loaders.internal.pickle.PyTuple;
import dev.graft.loaders.internal.pickle.Unpickler;
import java.util.Map;
import java.util.Set;
import java.util.function.BiFunction;

/**
 * The globals a PyTorch state dict needs, and what calling them means here (sources: {@code torch/_utils.py},
 * {@code torch/_tensor.py} of torch 1.13). Everything else is refused at its GLOBAL opcode. Persistent ids
 * differ between the zip, legacy-stream and tar layouts, so each reader supplies its own.
 */
public final class TorchGlobals implements PickleHandler {
    /** Storage classes in persistent ids, as {@code torch.<Name>}. */
    static final Map<String, ElementType> STORAGES = Map.of(
            "FloatStorage", ElementType.F32, "DoubleStorage", ElementType.F64, "HalfStorage", ElementType.F16,
            "BFloat16Storage", ElementType.BF16, "LongStorage", ElementType.I64, "IntStorage", ElementType.I32,
            "ShortStorage", ElementType.I16, "CharStorage", ElementType.I8, "ByteStorage", ElementType.U8,
            "BoolStorage", ElementType.BOOL);
    /** Tensor classes that the pre-0.4 tar layout names beside each tensor (type markers only). */
    static final Set<String> LEGACY_TENSOR_TYPES = Set.of("FloatTensor", "DoubleTensor", "HalfTensor",
            "BFloat16Tensor", "LongTensor", "IntTensor", "ShortTensor", "CharTensor", "ByteTensor", "BoolTensor");
    private static final Set<String> REBUILDERS = Set.of("_rebuild_tensor", "_rebuild_tensor_v2",
            "_rebuild_parameter", "_rebuild_parameter_with_state");

    private final BiFunction<Object, Unpickler.Context, Object> persistent;

    public TorchGlobals(BiFunction<Object, Unpickler.Context, Object> persistent) {
        this.persistent = persistent;
    }

    @Override
    public boolean allows(String module, String name) {
        return switch (module) {
            case "collections" -> name.equals("OrderedDict");
            case "torch._utils" -> REBUILDERS.contains(name);
            // files from torch <= 1.8 name the module torch.tensor (torch.serialization's load_module_mapping)
            case "torch._tensor", "torch.tensor" -> name.equals("_rebuild_from_type_v2") || name.equals("Tensor");
            case "torch.nn.parameter" -> name.equals("Parameter");
            case "torch" -> STORAGES.containsKey(name) || LEGACY_TENSOR_TYPES.contains(name)
                    || name.equals("Size") || name.equals("Tensor");
            default -> false;
        };
    }

    /** The element type of a storage class global, or an error naming what was found. */
    static ElementType storageType(Object g, Unpickler.Context at) {
        if (g instanceof PyGlobal p && p.module().equals("torch") && STORAGES.containsKey(p.name())) {
            return STORAGES.get(p.name());
        }
        throw at.error("expected a storage type such as torch.FloatStorage, got " + Describe.value(g));
    }

    @Override
    public Object persistentLoad(Object pid, Unpickler.Context at) {
        return persistent.apply(pid, at);
    }

    @Override
    public Object call(PyGlobal f, PyTuple args, Unpickler.Context at) {
        String q = f.module().equals("torch.tensor") ? "torch._tensor." + f.name() : f.qualified();
        switch (q) {
            case "collections.OrderedDict" -> {
                if (args.size() != 0) {
                    throw at.error("OrderedDict with constructor arguments is not supported");
                }
                return new PyDict(true);
            }
            case "torch._utils._rebuild_tensor_v2" -> {
                // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
                arity(f, args, 6, 7, at);
                return tensor(args, at);
            }
            case "torch._utils._rebuild_tensor" -> {
                arity(f, args, 4, 4, at);
                return tensor(args, at);
            }
            case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state" -> {
                // (data, requires_grad, backward_hooks[, state]): a Parameter is its data here
                arity(f, args, 3, 4, at);
                if (!(args.get(0) instanceof TensorRef t)) {
                    throw at.error(q + " expects a tensor, got " + Describe.type(args.get(0)));
                }
                return t;
            }
            case "torch._tensor._rebuild_from_type_v2" -> {
                // (func, new_type, args, state): a tensor subclass; keep the plain tensor func(*args) builds
                arity(f, args, 4, 4, at);
                if (!(args.get(0) instanceof PyGlobal func) || !func.module().equals("torch._utils")
                        || !(args.get(2) instanceof PyTuple inner)) {
                    throw at.error(q + " expects a torch._utils rebuild function and an argument tuple");
                }
                if (!(args.get(1) instanceof PyGlobal type) || !(type.name().equals("Tensor") || type.name().equals("Parameter"))) {
                    throw at.error(q + " of type " + Describe.value(args.get(1)) + " is not supported (only Tensor and Parameter)");
                }
                return call(func, inner, at);
            }
            case "torch.Size" -> {
                arity(f, args, 1, 1, at);
                if (args.get(0) instanceof PyTuple t) {
                    return t;
                }
                if (args.get(0) instanceof java.util.List<?> l) {
                    return new PyTuple(new java.util.ArrayList<>(l));
                }
                throw at.error("torch.Size expects a tuple, got " + Describe.type(args.get(0)));
            }
            default -> throw at.error(q + " may appear only as a type marker, not be called");
        }
    }

    private static void arity(PyGlobal f, PyTuple args, int min, int max, Unpickler.Context at) {
        if (args.size() < min || args.size() > max) {
            throw at.error(f + " takes " + (min == max ? "" + min : min + "-" + max) + " arguments, got " + args.size());
        }
    }

    private static TensorRef tensor(PyTuple args, Unpickler.Context at) {
        if (!(args.get(0) instanceof StorageRef storage)) {
            throw at.error("tensor storage must come from a persistent id, got " + Describe.type(args.get(0)));
        }
        long offset = integer(args.get(1), "storage_offset", at);
        long[] size = integers(args.get(2), "size", at);
        long[] stride = integers(args.get(3), "stride", at);
        if (size.length != stride.length) {
            throw at.error("size has " + size.length + " dimensions but stride has " + stride.length);
        }
        return new TensorRef(storage, offset, size, stride, at.offset());
    }

    static long integer(Object v, String what, Unpickler.Context at) {
        if (v instanceof Long l) {
            return l;
        }
        throw at.error(what + " must be a 64-bit int, got " + Describe.value(v));
    }

    private static long[] integers(Object v, String what, Unpickler.Context at) {
        if (!(v instanceof PyTuple t)) {
            throw at.error(what + " must be a tuple, got " + Describe.type(v));
        }
        long[] out = new long[t.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = integer(t.get(i), what + "[" + i + "]", at);
        }
        return out;
    }

    /** A string-valued pid element (Python 2 era files may carry bytes; those were latin-1 decoded already). */
    static String text(Object v, String what, Unpickler.Context at) {
        if (v instanceof String s) {
            return s;
        }
        if (v instanceof Long l) {
            return l.toString();
        }
        throw at.error(what + " must be a string, got " + Describe.value(v == null ? PyNone.NONE : v));
    }
}
