package dev.graft.models;

import dev.graft.engine.DType;
import dev.graft.engine.Device;
import dev.graft.engine.HostTensor;
import dev.graft.engine.NDArray;
import dev.graft.engine.Scope;
import dev.graft.engine.Shape;
import dev.graft.engine.Tensor;
import dev.graft.engine.backend.Backend;
import dev.graft.engine.backend.Backends;
import dev.graft.engine.backend.Conv2dSpec;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * A convolution with the batch norm after it folded in, or {@code fc} as a 1x1 convolution, named as the state
 * dict names them ({@code layer1.0.conv1} + {@code layer1.0.bn1}, or {@code fc}). Attached to a model, it keeps
 * the tensors it was folded from and their buffer versions, to notice in-place updates and replaced tensors.
 */
final class FoldedConvolution {
    private final Scope scope;
    private final Device device;
    private final DType dtype;
    final String convName;
    final String bnName;
    private final Conv2dSpec spec;
    private final int kernel;
    private final int kernelW;
    private final double eps;
    /** A fixed convolution (InceptionV3's transform_input): folded once, no state-dict tensors. */
    private boolean constant;
    private final int inChannels;
    private final int outChannels;
    private Supplier<Tensor[]> live;
    private Supplier<Linear> head;
    private Tensor[] sources;
    private int[] versions;
    NDArray weight;
    NDArray bias;

    /** A module's convolution and batch norm, read live. */
    FoldedConvolution(InferencePlan plan, Conv2d conv, BatchNorm2d bn) {
        this(plan, conv.path(), bn.path(), conv.inChannels(), conv.outChannels(), conv.kernelSize(), conv.kernelW(), conv.spec(),
                bn.eps());
        live = () -> new Tensor[] {conv.weight().tensor(), conv.bias() == null ? null : conv.bias().tensor(),
                bn.weight().tensor(), bn.bias().tensor(), bn.runningMean(), bn.runningVar()};
    }

    /** The model's current head ({@code replaceHead} swaps the module), read live. */
    FoldedConvolution(InferencePlan plan, Supplier<Linear> head) {
        this(plan, "fc", null, head.get().inFeatures(), -1, 1, 1, Conv2dSpec.of(1, 0), BatchNorm2d.EPS);
        this.head = head;
        live = () -> {
            Linear fc = head.get();
            return new Tensor[] {fc.weight().tensor(), fc.bias() == null ? null : fc.bias().tensor()};
        };
    }

    /**
     * A fixed depthwise 1x1 convolution {@code y_c = x_c * w[c] + b[c]} named {@code name}: read live from the model's
     * {@code tensors} (weight [C, 1, 1, 1], bias [C]) when given, else folded now from {@code w} and {@code b}.
     */
    FoldedConvolution(InferencePlan plan, String name, double[] w, double[] b, Tensor[] tensors) {
        this(plan, name, null, w.length, w.length, 1, 1, Conv2dSpec.of(1, 0, 1, w.length), BatchNorm2d.EPS);
        constant = true;
        if (tensors != null) {
            live = () -> tensors.clone();
        } else {
            replace(w, Shape.of(w.length, 1, 1, 1), b);
        }
    }

    /** A unit of a plan compiled from host tensors: folded once by {@link #foldFromHost}. */
    FoldedConvolution(InferencePlan plan, String convName, String bnName, int inChannels, int outChannels, int kernel,
                      int kernelW, Conv2dSpec spec, double eps) {
        this.scope = plan.scope();
        this.device = plan.device();
        this.dtype = plan.dtype();
        this.convName = convName;
        this.bnName = bnName;
        this.inChannels = inChannels;
        this.outChannels = outChannels;
        this.kernel = kernel;
        this.kernelW = kernelW;
        this.eps = eps;
        this.spec = spec;
    }

    /** Whether this is a fixed convolution with no state-dict tensors. */
    boolean constant() {
        return constant;
    }

    /** The kernel's columns ({@link #kernel()} its rows). */
    int kernelW() {
        return kernelW;
    }

    Conv2dSpec spec() {
        return spec;
    }

    int kernel() {
        return kernel;
    }

    /** Output channels: the convolution's, or the head's classes (read from the model until detached). */
    int outChannels() {
        if (outChannels >= 0) {
            return outChannels;
        }
        return weight != null ? weight.shape().dim(0) : head.get().outFeatures();
    }

    /** State-dict names and shapes of what this unit folds (the head's as [classes, features]). */
    Map<String, Shape> expectedShapes() {
        Map<String, Shape> m = new LinkedHashMap<>();
        if (bnName == null) {
            m.put(convName + ".weight", Shape.of(outChannels(), inChannels));
            m.put(convName + ".bias", Shape.of(outChannels()));
            return m;
        }
        m.put(convName + ".weight", Shape.of(outChannels, inChannels / spec.groups(), kernel, kernelW));
        Shape c = Shape.of(outChannels);
        for (String k : new String[] {".weight", ".bias", ".running_mean", ".running_var"}) {
            m.put(bnName + k, c);
        }
        m.put(bnName + ".num_batches_tracked", Shape.scalar());
        return m;
    }

    void refreshIfStale() {
        if (live == null) {
            return;
        }
        Tensor[] now = live.get();
        if (sources != null && sameVersions(now)) {
            return;
        }
        foldFromTensors(now);
        sources = now;
        versions = new int[now.length];
        for (int i = 0; i < now.length; i++) {
            versions[i] = now[i] == null ? 0 : now[i].data().buffer().version();
        }
    }

    private boolean sameVersions(Tensor[] now) {
        for (int i = 0; i < now.length; i++) {
            if (now[i] != sources[i] || (now[i] != null && now[i].data().buffer().version() != versions[i])) {
                return false;
            }
        }
        return true;
    }

    /** From the model's tensors: weight [K, ...] or the head's [K, F], conv bias or null, then gamma, beta, mean, var. */
    private void foldFromTensors(Tensor[] src) {
        Shape wShape = src[0].shape();
        int k = wShape.dim(0);
        if (bnName == null) {
            wShape = Shape.of(k, wShape.dim(1), 1, 1);
        }
        double[] w = src[0].toDoubleArray();
        double[] b = src[1] == null ? new double[k] : src[1].toDoubleArray();
        if (bnName != null) {
            fold(w, b, src[2].toDoubleArray(), src[3].toDoubleArray(), src[4].toDoubleArray(), src[5].toDoubleArray());
        }
        replace(w, wShape, b);
    }

    /**
     * From host tensors by name, in float arrays (the plan is F32): each weight is multiplied by its channel's
     * double scale and rounded once, exactly as the double path rounds, without a double copy of the layer.
     */
    void foldFromHost(Function<String, HostTensor> weights) {
        Map<String, Shape> expected = expectedShapes();
        int k = outChannels();
        float[] w = floats(weights, convName + ".weight", expected).clone();
        float[] b = new float[k];
        if (bnName == null) {
            b = floats(weights, convName + ".bias", expected).clone();
        } else {
            float[] gamma = floats(weights, bnName + ".weight", expected);
            float[] beta = floats(weights, bnName + ".bias", expected);
            float[] mean = floats(weights, bnName + ".running_mean", expected);
            float[] var = floats(weights, bnName + ".running_var", expected);
            int per = w.length / k;
            for (int o = 0; o < k; o++) {
                double scale = gamma[o] / Math.sqrt(var[o] + eps);
                for (int i = o * per; i < (o + 1) * per; i++) {
                    w[i] = (float) (w[i] * scale);
                }
                b[o] = (float) (beta[o] + (0 - (double) mean[o]) * scale);
            }
        }
        if (weight != null) {
            weight.buffer().close();
            bias.buffer().close();
        }
        Backend be = Backends.get(device);
        try (Scope.Entered in = scope.enter()) {
            weight = be.fromHost(w, Shape.of(k, inChannels / spec.groups(), kernel, kernelW));
            bias = be.fromHost(b, Shape.of(k));
        }
    }

    private float[] floats(Function<String, HostTensor> weights, String name, Map<String, Shape> expected) {
        HostTensor t = weights.apply(name);
        if (t == null) {
            throw new ModelException("no tensor '" + name + "' for " + convName);
        }
        if (!t.shape().equals(expected.get(name))) {
            throw new ModelException("tensor '" + name + "' has shape " + t.shape() + ", expected " + expected.get(name));
        }
        if (!t.dtype().isFloating()) {
            throw new ModelException("tensor '" + name + "' holds integers (" + t.sourceType() + ") where weights are expected");
        }
        return t.toFloats();
    }

    /** w *= s[k] per output channel and b = beta + (b - mean) * s, s = gamma / sqrt(var + eps), in double. */
    private void fold(double[] w, double[] b, double[] gamma, double[] beta, double[] mean, double[] var) {
        int k = b.length;
        int per = w.length / k;
        for (int o = 0; o < k; o++) {
            double scale = gamma[o] / Math.sqrt(var[o] + eps);
            for (int i = o * per; i < (o + 1) * per; i++) {
                w[i] *= scale;
            }
            b[o] = beta[o] + (b[o] - mean[o]) * scale;
        }
    }

    /** Uploads the folded values in the plan's dtype, replacing (and freeing) the previous copies. */
    private void replace(double[] w, Shape wShape, double[] b) {
        if (weight != null) {
            weight.buffer().close();
            bias.buffer().close();
        }
        try (Scope.Entered in = scope.enter()) {
            weight = upload(w, wShape);
            bias = upload(b, Shape.of(b.length));
        }
    }

    private NDArray upload(double[] v, Shape shape) {
        Backend be = Backends.get(device);
        if (dtype == DType.F64) {
            return be.fromHost(v, shape, DType.F64);
        }
        float[] f = new float[v.length];
        for (int i = 0; i < f.length; i++) {
            f[i] = (float) v[i];
        }
        return be.fromHost(f, shape);
    }

    void dropSources() {
        live = null;
        head = null;
        sources = null;
    }
}
