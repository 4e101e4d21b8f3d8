package dev.graft.models;

import dev.graft.engine.DType;
import dev.graft.engine.HostTensor;
import dev.graft.engine.NDArray;
import dev.graft.engine.Scope;
import dev.graft.engine.Shape;
import dev.graft.engine.StateDict;
import dev.graft.engine.Tensor;
import dev.graft.engine.backend.HostLongBuffer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** {@link Module#stateDict()} and {@link Module#load}: host copies out, in-place copies in. */
final class StateLoading {
    static final String NUM_BATCHES_TRACKED = "num_batches_tracked";

    private StateLoading() {
    }

    static StateDict toStateDict(Module m) {
        StateDict out = new StateDict();
        m.namedState().forEach((k, t) -> out.put(k, HostTensor.of(t)));
        out.metadata().putAll(m.metadata());
        return out;
    }

    static LoadReport load(Module m, StateDict state, boolean strict) {
        KeyPrefixes.Stripped stripped = KeyPrefixes.stripCommon(state);
        StateDict in = stripped.state();
        LinkedHashMap<String, Tensor> own = m.namedState();
        List<String> loaded = new ArrayList<>();
        List<String> missing = new ArrayList<>();
        List<String> defaulted = new ArrayList<>();
        List<LoadReport.ShapeMismatch> mismatched = new ArrayList<>();
        List<String> unexpected = new ArrayList<>();
        for (Map.Entry<String, Tensor> e : own.entrySet()) {
            String key = e.getKey();
            HostTensor src = in.get(key);
            if (src == null) {
                (key.endsWith("." + NUM_BATCHES_TRACKED) || key.equals(NUM_BATCHES_TRACKED) ? defaulted : missing).add(key);
            } else if (!src.shape().equals(e.getValue().shape())) {
                mismatched.add(new LoadReport.ShapeMismatch(key, dims(e.getValue().shape()), dims(src.shape())));
            } else {
                loaded.add(key);
            }
        }
        for (String key : in.keys()) {
            if (!own.containsKey(key)) {
                unexpected.add(key);
            }
        }
        LoadReport report = new LoadReport(List.copyOf(loaded), List.copyOf(missing), List.copyOf(unexpected),
                List.copyOf(mismatched), List.copyOf(defaulted), stripped.prefix());
        if (strict && !report.isComplete()) {
            throw new StateDictMismatchException(m.getClass().getSimpleName(), report);
        }
        for (String key : loaded) {
            write(key, own.get(key), in.get(key));
        }
        for (String key : defaulted) {
            write(key, own.get(key), HostTensor.of(new long[own.get(key).numel()], own.get(key).shape()));
        }
        return report;
    }

    /** Overwrites {@code dst} in place, converting between F32, F64 and integral I64 values. */
    static void write(String key, Tensor dst, HostTensor src) {
        NDArray a = dst.data();
        switch (dst.dtype()) {
            case I64 -> {
                if (!(a.buffer() instanceof HostLongBuffer h)) {
                    throw new ModelException(key + ": I64 tensor without host storage");
                }
                System.arraycopy(asLongs(key, src), 0, h.data(), 0, a.numel());
            }
            case F32 -> {
                checkFloating(key, src);
                a.backend().copyFromHost(a, src.toFloats());
            }
            case F64 -> {
                checkFloating(key, src);
                double[] d = src.dtype() == DType.F64 ? src.doubles() : toDoubles(src.toFloats());
                try (Scope tmp = Scope.open("load")) {
                    a.backend().copyInto(a, a.backend().fromHost(d, a.shape(), DType.F64));
                }
            }
        }
        a.buffer().bumpVersion();
    }

    private static void checkFloating(String key, HostTensor src) {
        if (!src.dtype().isFloating()) {
            throw new ModelException(key + ": the file holds integers (" + src.sourceType()
                    + ") where the model has a floating-point tensor");
        }
    }

    private static long[] asLongs(String key, HostTensor src) {
        if (src.dtype() == DType.I64) {
            return src.longs();
        }
        float[] f = src.toFloats();
        long[] out = new long[f.length];
        for (int i = 0; i < f.length; i++) {
            if (f[i] != Math.rint(f[i])) {
                throw new ModelException(key + ": expected integer values, found " + f[i] + " at index " + i);
            }
            out[i] = (long) f[i];
        }
        return out;
    }

    private static double[] toDoubles(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }

    private static List<Integer> dims(Shape s) {
        return Arrays.stream(s.dims()).boxed().toList();
    }
}
