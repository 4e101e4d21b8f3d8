package dev.graft.models;

import dev.graft.engine.DType;
import dev.graft.engine.Device;
import dev.graft.engine.HostTensor;
import dev.graft.engine.DeviceException;
import dev.graft.engine.NDArray;
import dev.graft.engine.Scope;
import dev.graft.engine.Shape;
import dev.graft.engine.Tensor;
import dev.graft.engine.backend.AvgPool2dSpec;
import dev.graft.engine.backend.Backend;
import dev.graft.engine.backend.Conv2dSpec;
import dev.graft.engine.backend.Pool2dSpec;
import dev.graft.engine.backend.Pooled;

import dev.graft.engine.Precision;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * A {@link ResNet} compiled for inference (eval mode, nothing recorded): every batch norm folded into the
 * convolution before it ({@code w' = w * g / sqrt(v + eps)}, {@code b' = beta - mean * g / sqrt(v + eps)}, computed
 * in double), and every convolution run with its bias, the block's shortcut and the relu fused into one
 * {@link Backend#conv2dInference} call (oneDNN post-ops on the cpu backend). {@code fc} runs as a 1x1 convolution
 * over the pooled [N, C, 1, 1] features. No autograd objects are made: the plan calls backend kernels directly.
 * A NaN or an infinity in the images reaches the logits as in the unfused pass and in PyTorch: the backends'
 * {@code conv2dInference} keeps a NaN before its relu (on cpu, where oneDNN's relu post-op would make it 0, by
 * bounding the operands: the input image is scanned once per call, and the activations carry bounds recorded by the
 * kernels that made them; NonFiniteResNetProperties).
 *
 * <p>The folded weights are copies in the plan's own scope; the model's parameters are only read. While the plan
 * is attached to its model, each call first refolds any layer whose parameters or running statistics changed
 * (buffer versions, or a replaced tensor) since they were last folded, so a model that trains between evaluations
 * is always run with its current values. {@link #detach()} drops the link, after which the model may be closed.
 *
 * <p>Outputs go to the caller's current scope, or into an {@link InferenceWorkspace}: buffers allocated once for one input
 * shape, shared between activations whose lifetimes do not overlap, and reused by every call that borrows it.
 * The plan itself is thread-safe (refolding is serialised); a workspace is used by one call at a time.
 */
public final class InferencePlan implements AutoCloseable {
    private final Device device;
    private final DType dtype;
    private final Scope scope;
    private final List<Step> steps = new ArrayList<>();
    private final List<FoldedConvolution> units = new ArrayList<>();
    private int inChannels;
    private int values = 1; // value 0 is the input
    private int featureMap;
    private int features;
    private int logits;
    private int[] lastUse;
    private ResNet model;
    private boolean closed;
    private Precision precision = Precision.FP32;
    /**
     * Debug switch {@code -Dgraft.plan.profile=true}: every run adds each step's wall time to {@link #stepNanos}
     * (read with {@link #stepTimes()}); off, the hot loop reads no clock.
     */
    private static final boolean PROFILE = Boolean.getBoolean("graft.plan.profile");
    private long[] stepNanos;
    private long profiledRuns;
    /** With {@link Precision#INT8}: each quantized unit's s8 weights, weight scales and input range. */
    private final Map<FoldedConvolution, Quantized> quantized = new IdentityHashMap<>();

    /** A unit run in int8: {@code wq} integers in [-127, 127] (F32 storage), one scale per output channel, its input's range. */
    private record Quantized(NDArray wq, float[] wScales, Int8Calibration.Range input) {
    }

    /** One operation over value ids: reads {@code in} (and {@code residual}), writes {@code out}. */
    sealed interface Step permits ConvStep, MaxPoolStep, AvgPoolStep, AvgPool2dStep, ConcatStep {
        int out();
    }

    /** {@code F.avg_pool2d} with its kernel, stride, padding and divisor rule. */
    record AvgPool2dStep(int in, int out, AvgPool2dSpec spec, String name) implements Step {
    }

    /** {@code torch.cat(ins, dim=1)}: the outputs of a block's branches. */
    record ConcatStep(int[] ins, int out, String name) implements Step {
    }

    record ConvStep(int in, int residual, int out, FoldedConvolution unit, boolean relu) implements Step {
    }

    record MaxPoolStep(int in, int out, Pool2dSpec spec, String name) implements Step {
    }

    record AvgPoolStep(int in, int out) implements Step {
    }

    private InferencePlan(ResNet model, ResNetConfig config, Device device, DType dtype) {
        this.model = model;
        this.device = device;
        this.dtype = dtype;
        this.inChannels = config.inChannels();
        this.scope = Scope.detached("inference plan of " + config.architecture());
    }

    /** Compiles {@code model}'s declared {@link Topology}; weights are folded from its modules' tensors on first use. */
    public static InferencePlan compile(ResNet model) {
        InferencePlan p = new InferencePlan(model, model.config(), model.device(), model.dtype());
        Tensor[] transform = model.transformInputTensors();
        double[][] t = ResNet.transformInput();
        p.declare(model.topology(), transform == null ? null : new FoldedConvolution(p, "transform_input", t[0], t[1], transform),
                c -> p.unit((Conv2d) model.module(c.conv()), (BatchNorm2d) model.module(c.bn())), p.unit(model::fc));
        return p;
    }

    /**
     * The steps of a declared {@link Topology}: each convolution with its batch norm folded; in a residual block the
     * shortcut first, then the path with the shortcut and the final relu fused into its last convolution; the
     * layers after the feature map; global average pooling; {@code head}.
     */
    private void declare(Topology t, FoldedConvolution transform, Function<Topology.ConvBn, FoldedConvolution> unitOf,
                         FoldedConvolution head) {
        if (t.layers().stream().anyMatch(l -> l instanceof Topology.Swin || l instanceof Topology.ViT)) {
            throw new ModelException("a " + (t.family().equals(Architectures.SWIN) ? "Swin Transformer" : "vision transformer")
                    + " has no fused inference plan: it runs unfused through its modules (the inference runtime runs it so; "
                    + "ONNX export writes it from the modules)");
        }
        int y = 0;
        int cam = -1;
        if (transform != null) { // InceptionV3's transform_input: a fixed per-channel x * w + b
            y = conv(transform, y, -1, false);
        }
        for (int i = 0; i < t.layers().size(); i++) {
            y = layer(t.layers().get(i), "", y, unitOf);
            if (i == t.camLayer()) {
                cam = y;
            }
        }
        featureMap = cam;
        features = add(new AvgPoolStep(y, values++));
        logits = conv(head, features, -1, false);
        lastUses();
    }

    /** The steps of one declared layer on value {@code y} (names inside a block relative to {@code prefix}); its output value. */
    private int layer(Topology.Layer layer, String prefix, int y, Function<Topology.ConvBn, FoldedConvolution> unitOf) {
        if (layer instanceof Topology.ConvBn c) {
            return conv(unitOf.apply(prefix.isEmpty() ? c : Topology.qualified(prefix, c)), y, -1, c.relu());
        }
        if (layer instanceof Topology.Pool pool) {
            return add(new MaxPoolStep(y, values++, pool.spec(), Topology.join(prefix, pool.name())));
        }
        if (layer instanceof Topology.AvgPool pool) {
            return add(new AvgPool2dStep(y, values++, pool.spec(), Topology.join(prefix, pool.name())));
        }
        if (layer instanceof Topology.Branches b) {
            String base = Topology.join(prefix, b.name());
            int[] outs = new int[b.branches().size()];
            for (int i = 0; i < outs.length; i++) {
                int z = y;
                for (Topology.Layer l : b.branches().get(i)) {
                    z = layer(l, base, z, unitOf);
                }
                outs[i] = z;
            }
            return add(new ConcatStep(outs, values++, base));
        }
        Topology.Residual r = (Topology.Residual) layer;
        int x = y;
        int identity = r.shortcut() == null ? x
                : conv(unitOf.apply(Topology.qualified(r.name(), r.shortcut())), x, -1, false);
        List<Topology.ConvBn> path = r.path();
        y = x;
        for (int j = 0; j < path.size(); j++) {
            boolean last = j == path.size() - 1;
            y = conv(unitOf.apply(Topology.qualified(r.name(), path.get(j))), y, last ? identity : -1, true);
        }
        return y;
    }

    /**
     * Compiles a ResNet of {@code config} straight from host tensors under torchvision's state-dict names
     * ({@code weights.apply("layer1.0.conv1.weight")}), folding and uploading one layer at a time, so neither the
     * model's parameters nor the whole state dict ever exist at once (the inference runtime loads files this way).
     * The topology is torchvision's {@code _make_layer}, the same the {@link ResNet} constructor builds
     * (InferencePlanTest compares the two). The result is detached and F32; check the names and shapes first with
     * {@link #stateShapes}.
     */
    public static InferencePlan compile(ResNetConfig config, Function<String, HostTensor> weights, Device device) {
        InferencePlan p = new InferencePlan(null, config, device, DType.F32);
        try {
            walk(config, p);
            for (FoldedConvolution u : p.units) {
                if (!u.constant()) {
                    u.foldFromHost(weights);
                }
            }
            return p;
        } catch (RuntimeException e) {
            p.close();
            throw e;
        }
    }

    /**
     * The tensors a state dict of {@code config} holds, under torchvision's names, with their shapes: what
     * {@link #compile(ResNetConfig, Function, Device)} reads, plus every {@code num_batches_tracked} (shape [],
     * not read).
     */
    public static Map<String, Shape> stateShapes(ResNetConfig config) {
        InferencePlan p = new InferencePlan(null, config, Device.REFERENCE, DType.F32);
        Map<String, Shape> out = new LinkedHashMap<>();
        try {
            walk(config, p);
            for (FoldedConvolution u : p.units) {
                if (!u.constant()) {
                    out.putAll(u.expectedShapes());
                }
            }
            Topology.AuxHead aux = config.topology().aux();
            if (aux != null) { // in the state dict (training uses it), never in the plan
                for (Topology.Layer l : aux.layers()) {
                    if (l instanceof Topology.ConvBn c) {
                        out.putAll(p.unit(c.conv(), c.bn(), c.in(), c.out(), c.kernel(), c.kernelW(), c.spec(), c.eps()).expectedShapes());
                    }
                }
                out.put(aux.fc() + ".weight", Shape.of(config.numClasses(), aux.width()));
                out.put(aux.fc() + ".bias", Shape.of(config.numClasses()));
            }
        } finally {
            p.close();
        }
        return out;
    }

    /** {@code config}'s declared topology with (unfolded) units named as the state dict names them. */
    private static void walk(ResNetConfig config, InferencePlan p) {
        double[][] t = ResNet.transformInput();
        p.declare(config.topology(), config.isInception() && config.transformInput()
                        ? new FoldedConvolution(p, "transform_input", t[0], t[1], null) : null, c -> {
            if (c.convBias()) { // no family declares one yet; host folding reads conv weights only
                throw new ModelException(c.conv() + ": compiling a convolution with a bias from host tensors is not supported");
            }
            return p.unit(c.conv(), c.bn(), c.in(), c.out(), c.kernel(), c.kernelW(), c.spec(), c.eps());
        },
                p.unit("fc", null, config.featureWidth(), config.numClasses(), 1, 1, Conv2dSpec.of(1, 0), BatchNorm2d.EPS));
    }

    private FoldedConvolution unit(Conv2d conv, BatchNorm2d bn) {
        return new FoldedConvolution(this, conv, bn);
    }

    private FoldedConvolution unit(Supplier<Linear> head) {
        return new FoldedConvolution(this, head);
    }

    private FoldedConvolution unit(String convName, String bnName, int in, int out, int kernel, int kernelW, Conv2dSpec spec,
                                   double eps) {
        return new FoldedConvolution(this, convName, bnName, in, out, kernel, kernelW, spec, eps);
    }

    Scope scope() {
        return scope;
    }

    Device device() {
        return device;
    }

    DType dtype() {
        return dtype;
    }

    List<Step> steps() {
        return steps;
    }

    int values() {
        return values;
    }

    private int conv(FoldedConvolution unit, int in, int residual, boolean relu) {
        units.add(unit);
        return add(new ConvStep(in, residual, values++, unit, relu));
    }

    private int add(Step s) {
        steps.add(s);
        return s.out();
    }

    /** One line per step (names, shapes, wiring): how tests compare the two ways of compiling. */
    public String describe() {
        StringBuilder b = new StringBuilder();
        for (Step st : steps) {
            if (st instanceof ConvStep c) {
                b.append(String.format("v%d = conv %s%s k%s %s -> %d from v%d%s%s%n", c.out(), c.unit().convName,
                        c.unit().bnName == null ? "" : "+" + c.unit().bnName, c.unit().kernel() == c.unit().kernelW()
                                ? Integer.toString(c.unit().kernel()) : c.unit().kernel() + "x" + c.unit().kernelW(), c.unit().spec(),
                        c.unit().outChannels(), c.in(), c.residual() < 0 ? "" : " + v" + c.residual(), c.relu() ? " relu" : ""));
            } else if (st instanceof MaxPoolStep m) {
                b.append(String.format("v%d = maxpool %s from v%d%n", m.out(), m.spec(), m.in()));
            } else if (st instanceof AvgPool2dStep a) {
                b.append(String.format("v%d = avgpool2d %s from v%d%n", a.out(), a.spec(), a.in()));
            } else if (st instanceof ConcatStep c) {
                b.append(String.format("v%d = concat %s from v%s%n", c.out(), c.name(), java.util.Arrays.toString(c.ins())));
            } else {
                b.append(String.format("v%d = avgpool from v%d%n", st.out(), ((AvgPoolStep) st).in()));
            }
        }
        return b.toString();
    }

    /**
     * This plan's operations and folded F32 weights as plain data (copies), for exporters: see {@link InferenceGraph}.
     * An attached plan refolds first, so the graph holds the model's current values.
     */
    public synchronized InferenceGraph graph() {
        refresh();
        List<InferenceGraph.Node> nodes = new ArrayList<>();
        for (Step st : steps) {
            if (st instanceof ConvStep c) {
                FoldedConvolution u = c.unit();
                nodes.add(new InferenceGraph.Convolution(u.convName, u.bnName, c.in(), c.residual(), c.out(),
                        HostTensor.of(u.weight.toFloatArray(), u.weight.shape()), HostTensor.of(u.bias.toFloatArray(), u.bias.shape()),
                        u.spec(), c.relu()));
            } else if (st instanceof MaxPoolStep m) {
                nodes.add(new InferenceGraph.MaxPool(m.in(), m.out(), m.spec(), m.name()));
            } else if (st instanceof AvgPool2dStep a) {
                nodes.add(new InferenceGraph.AveragePool(a.in(), a.out(), a.spec(), a.name()));
            } else if (st instanceof ConcatStep c) {
                nodes.add(new InferenceGraph.Concat(c.ins(), c.out(), c.name()));
            } else {
                nodes.add(new InferenceGraph.GlobalAveragePool(((AvgPoolStep) st).in(), st.out()));
            }
        }
        return new InferenceGraph(inChannels(), nodes, features, logits);
    }

    // ---- running --------------------------------------------------------------------------------------------

    /** Logits [N, classes] for images [N, C, H, W], in the current scope; a leaf that requires no gradient. */
    public Tensor forward(Tensor x) {
        NDArray y = run(checked(x), null, logits);
        return Tensor.of(y.reshape(Shape.of(y.shape().dim(0), y.shape().dim(1))));
    }

    /** Pooled features [N, featureWidth] (the input of {@code fc}), in the current scope. */
    public Tensor features(Tensor x) {
        NDArray f = run(checked(x), null, features);
        return Tensor.of(f.reshape(Shape.of(f.shape().dim(0), f.shape().dim(1))));
    }

    /** The last stage's output [N, featureWidth, h, w] (layer4, before pooling), in the current scope. */
    public Tensor featureMap(Tensor x) {
        return Tensor.of(run(checked(x), null, featureMap));
    }

    /**
     * Logits [N, classes] computed in {@code workspace}, which must have been made by {@link #workspace} for
     * {@code x}'s shape. The result lives in the workspace: read it before the workspace's next use.
     */
    public NDArray forward(NDArray x, InferenceWorkspace workspace) {
        if (workspace.plan != this || !workspace.input.equals(x.shape())) {
            throw new ModelException("workspace made for input " + workspace.input + " used for " + x.shape());
        }
        NDArray y = run(x, workspace, logits);
        return y.reshape(Shape.of(y.shape().dim(0), y.shape().dim(1)));
    }

    /** The model's current input channels (grayscale adaptation changes them), fixed once detached. */
    private synchronized int inChannels() {
        return model != null ? model.config().inChannels() : inChannels;
    }

    private NDArray checked(Tensor x) {
        refresh();
        int inChannels = inChannels();
        if (x.shape().rank() != 4 || x.dim(1) != inChannels) {
            throw new ModelException("the model expects images [N, " + inChannels + ", H, W], got " + x.shape());
        }
        if (!x.device().equals(device) || x.dtype() != dtype) {
            throw new DeviceException("the model runs in " + dtype + " on " + device + ", got an input of " + x.dtype()
                    + " on " + x.device() + "; move it with tensor.to(device)");
        }
        shapes(x.shape()); // throws a ShapeException for inputs whose activations would not fit in a tensor
        return x.data();
    }

    /** Runs the steps up to {@code target}; intermediates not in a workspace are freed after their last use. */
    private NDArray run(NDArray x, InferenceWorkspace ws, int target) {
        return run(x, ws, target, null);
    }

    private NDArray run(NDArray x, InferenceWorkspace ws, int target, java.util.function.BiConsumer<String, NDArray> observer) {
        refresh();
        Backend be = x.backend();
        int[] lastUse = lastUses();
        NDArray[] v = new NDArray[values];
        v[0] = x;
        long[] nanos = PROFILE ? new long[steps.size()] : null;
        for (int i = 0; i < steps.size(); i++) {
            Step s = steps.get(i);
            NDArray out;
            long t0 = PROFILE ? System.nanoTime() : 0;
            if (s instanceof ConvStep c) {
                NDArray residual = c.residual() < 0 ? null : v[c.residual()];
                NDArray slot = ws == null ? null : ws.slots[c.out()];
                Quantized q = quantized.get(c.unit());
                if (observer != null && q == null && quantizable(c.unit())) {
                    observer.accept(c.unit().convName, v[c.in()]);
                }
                if (q != null) {
                    out = be.conv2dInferenceInt8(v[c.in()], q.input().scale(), q.input().unsigned(), q.wq(), q.wScales(),
                            c.unit().bias, residual, c.relu(), c.unit().spec(), slot);
                } else if (precision == Precision.BF16) {
                    out = be.conv2dInferenceBf16(v[c.in()], c.unit().weight, c.unit().bias, residual, c.relu(), c.unit().spec(), slot);
                } else {
                    out = be.conv2dInference(v[c.in()], c.unit().weight, c.unit().bias, residual, c.relu(), c.unit().spec(), slot);
                }
            } else if (s instanceof MaxPoolStep m) {
                out = maxPool(be, v[m.in()], m.spec());
            } else if (s instanceof AvgPool2dStep a) {
                out = be.avgPool2d(v[a.in()], a.spec());
            } else if (s instanceof ConcatStep c) {
                NDArray[] parts = new NDArray[c.ins().length];
                for (int j = 0; j < parts.length; j++) {
                    parts[j] = v[c.ins()[j]];
                }
                out = be.concatChannels(parts);
            } else {
                out = be.globalAvgPool(v[((AvgPoolStep) s).in()]);
            }
            v[s.out()] = out;
            if (nanos != null) {
                nanos[i] = System.nanoTime() - t0;
            }
            if (s.out() == target) {
                freeAll(v, ws, target);
                if (nanos != null) {
                    addProfile(nanos);
                }
                return out;
            }
            for (int id = 1; id < values; id++) {
                if (v[id] != null && lastUse[id] == i && (ws == null || ws.slots[id] == null)) {
                    v[id].buffer().close();
                    v[id] = null;
                }
            }
        }
        throw new IllegalStateException("value " + target + " is not produced by the plan");
    }

    private synchronized void addProfile(long[] nanos) {
        if (stepNanos == null) {
            stepNanos = new long[steps.size()];
        }
        for (int i = 0; i < nanos.length; i++) {
            stepNanos[i] += nanos[i];
        }
        profiledRuns++;
    }

    /**
     * With {@code -Dgraft.plan.profile=true}: the mean wall time of each step over the runs so far (one line per step,
     * as {@link #describe()} names them, then the total), and resets the sums; without it, a line saying how to switch
     * it on. A diagnostic: a step's time includes its Java glue (bound checks, lookups), not only its kernel.
     */
    public synchronized String stepTimes() {
        if (!PROFILE) {
            return "per-step timing is off: run with -Dgraft.plan.profile=true\n";
        }
        if (profiledRuns == 0) {
            return "no run profiled yet\n";
        }
        String[] lines = describe().split("\n");
        StringBuilder b = new StringBuilder();
        double total = 0;
        for (int i = 0; i < stepNanos.length; i++) {
            double ms = stepNanos[i] / 1e6 / profiledRuns;
            total += ms;
            b.append(String.format(java.util.Locale.ROOT, "%8.3f ms  %s%n", ms, lines[i]));
        }
        b.append(String.format(java.util.Locale.ROOT, "%8.3f ms  all steps, mean of %d runs%n", total, profiledRuns));
        stepNanos = null;
        profiledRuns = 0;
        return b.toString();
    }

    private static NDArray maxPool(Backend be, NDArray x, Pool2dSpec spec) {
        Pooled p = be.maxPool2d(x, spec, false);
        if (p.workspace() != null) {
            p.workspace().close();
        }
        return p.output();
    }

    /** Frees every computed intermediate that is not the result and not a workspace buffer. */
    private void freeAll(NDArray[] v, InferenceWorkspace ws, int keep) {
        for (int id = 1; id < values; id++) {
            if (id != keep && v[id] != null && (ws == null || ws.slots[id] == null)) {
                v[id].buffer().close();
            }
        }
    }

    /** For each value, the index of the last step that reads it. */
    int[] lastUses() {
        if (lastUse != null) {
            return lastUse;
        }
        int[] last = new int[values];
        for (int i = 0; i < steps.size(); i++) {
            Step st = steps.get(i);
            if (st instanceof ConvStep c) {
                last[c.in()] = i;
                if (c.residual() >= 0) {
                    last[c.residual()] = i;
                }
            } else if (st instanceof MaxPoolStep m) {
                last[m.in()] = i;
            } else if (st instanceof AvgPool2dStep a) {
                last[a.in()] = i;
            } else if (st instanceof ConcatStep c) {
                for (int in : c.ins()) {
                    last[in] = i;
                }
            } else {
                last[((AvgPoolStep) st).in()] = i;
            }
        }
        lastUse = last;
        return last;
    }

    /** The shape of every value for an input shape (ShapeException if one would exceed a tensor's size limit). */
    Shape[] shapes(Shape input) {
        Shape[] s = new Shape[values];
        s[0] = input;
        for (Step step : steps) {
            if (step instanceof ConvStep c) {
                Shape in = s[c.in()];
                Conv2dSpec sp = c.unit().spec();
                s[c.out()] = Shape.of((long) in.dim(0), c.unit().outChannels(),
                        Conv2dSpec.outputSize(in.dim(2), c.unit().kernel(), sp.strideH(), sp.padH(), sp.dilationH()),
                        Conv2dSpec.outputSize(in.dim(3), c.unit().kernelW(), sp.strideW(), sp.padW(), sp.dilationW()));
            } else if (step instanceof MaxPoolStep m) {
                Shape in = s[m.in()];
                Pool2dSpec sp = m.spec();
                s[m.out()] = Shape.of((long) in.dim(0), in.dim(1),
                        Conv2dSpec.outputSize(in.dim(2), sp.kernelH(), sp.strideH(), sp.padH(), 1),
                        Conv2dSpec.outputSize(in.dim(3), sp.kernelW(), sp.strideW(), sp.padW(), 1));
            } else if (step instanceof AvgPool2dStep a) {
                Shape in = s[a.in()];
                AvgPool2dSpec sp = a.spec();
                s[a.out()] = Shape.of((long) in.dim(0), in.dim(1),
                        Conv2dSpec.outputSize(in.dim(2), sp.kernelH(), sp.strideH(), sp.padH(), 1),
                        Conv2dSpec.outputSize(in.dim(3), sp.kernelW(), sp.strideW(), sp.padW(), 1));
            } else if (step instanceof ConcatStep c) {
                long channels = 0;
                for (int in : c.ins()) {
                    channels += s[in].dim(1);
                }
                Shape first = s[c.ins()[0]];
                s[c.out()] = Shape.of((long) first.dim(0), channels, first.dim(2), first.dim(3));
            } else {
                Shape in = s[((AvgPoolStep) step).in()];
                s[step.out()] = Shape.of(in.dim(0), in.dim(1), 1, 1);
            }
        }
        return s;
    }

    // ---- lower precision --------------------------------------------------------------------------------------

    /** The arithmetic the convolutions run in (fp32 unless {@link #withPrecision} changed it). */
    public synchronized Precision precision() {
        return precision;
    }

    /**
     * Whether int8 runs {@code unit}: a convolution with one group, not a fixed one (InceptionV3's transform_input), not the
     * first convolution on the images, and not the head {@code fc}. Those stay fp32, as is common practice: the first
     * sees raw pixels with few channels (little to gain, most to lose), the head makes the logits directly.
     */
    private boolean quantizable(FoldedConvolution unit) {
        if (unit.constant() || unit.bnName == null || unit.spec().groups() != 1) {
            return false;
        }
        for (FoldedConvolution u : units) {
            if (!u.constant()) {
                return u != unit; // the first non-fixed convolution reads the images
            }
        }
        return false;
    }

    /** The state-dict names of the convolutions that int8 quantizes, in plan order. */
    public List<String> quantizableLayers() {
        List<String> out = new ArrayList<>();
        for (FoldedConvolution u : units) {
            if (quantizable(u)) {
                out.add(u.convName);
            }
        }
        return out;
    }

    /**
     * Runs {@code x} through the fp32 plan and widens {@code ranges} (per quantizable layer name: {max |x|, min x})
     * with the values each quantizable convolution reads: one calibration batch for {@code graft quantize}.
     */
    public synchronized void observe(Tensor x, Map<String, double[]> ranges) {
        if (precision != Precision.FP32) {
            throw new ModelException("calibration runs the fp32 plan; this plan runs " + precision);
        }
        NDArray input = checked(x);
        try (Scope s = Scope.open("calibration")) {
            run(input, null, logits, (name, a) -> {
                float[] v = a.toFloatArray();
                double[] r = ranges.computeIfAbsent(name, k -> new double[] {0, Double.POSITIVE_INFINITY});
                for (float f : v) {
                    double d = f;
                    if (!(Math.abs(d) <= r[0])) {
                        r[0] = Double.isNaN(d) ? Double.NaN : Math.max(r[0], Math.abs(d));
                    }
                    r[1] = Math.min(r[1], d);
                }
            });
        }
    }

    /**
     * Switches the convolutions to {@code p}: fp32; bf16 (bfloat16 products, fp32 accumulation; every convolution,
     * fc included); or int8 with {@code calibration} (which must cover every {@link #quantizableLayers() quantizable
     * layer}; the others stay fp32). Only a detached plan changes precision (its weights no longer change). A
     * backend or CPU that cannot run {@code p} is a DeviceException saying why; nothing falls back silently.
     * Returns this plan.
     */
    public synchronized InferencePlan withPrecision(Precision p, Int8Calibration calibration) {
        if (closed) {
            throw new ModelException("the inference plan was closed");
        }
        if (p != Precision.FP32 && model != null) {
            throw new ModelException(p + " inference needs a detached plan (InferencePlan.detach()): its weights must not change");
        }
        Backend be = dev.graft.engine.backend.Backends.get(device);
        if (!be.supportsInference(p)) {
            throw new DeviceException(be.precisionSupport(p));
        }
        if (p != Precision.FP32 && dtype != DType.F32) {
            throw new ModelException(p + " inference needs an F32 plan, this one is " + dtype);
        }
        Map<FoldedConvolution, Quantized> next = new IdentityHashMap<>();
        if (p == Precision.INT8) {
            if (calibration == null) {
                throw new ModelException("int8 inference needs calibrated activation ranges; run graft quantize first");
            }
            List<String> missing = new ArrayList<>();
            for (FoldedConvolution u : units) {
                if (quantizable(u) && !calibration.inputs().containsKey(u.convName)) {
                    missing.add(u.convName);
                }
            }
            if (!missing.isEmpty()) {
                throw new ModelException("the int8 calibration has no range for " + missing.size() + " layer(s) of this model ("
                        + String.join(", ", missing.subList(0, Math.min(4, missing.size()))) + (missing.size() > 4 ? ", ..." : "")
                        + "); it was made for another model: run graft quantize on this one");
            }
            try (Scope.Entered in = scope.enter()) {
                for (FoldedConvolution u : units) {
                    if (quantizable(u)) {
                        next.put(u, quantize(be, u, calibration.inputs().get(u.convName)));
                    }
                }
            }
        }
        for (Quantized q : quantized.values()) {
            q.wq().buffer().close();
        }
        quantized.clear();
        quantized.putAll(next);
        precision = p;
        return this;
    }

    /** Symmetric per-output-channel s8 weights of the folded unit: {@code s_k = max |w_k| / 127}, {@code q = rint(w / s_k)}. */
    private static Quantized quantize(Backend be, FoldedConvolution u, Int8Calibration.Range input) {
        float[] w = u.weight.toFloatArray();
        int k = u.weight.shape().dim(0);
        int per = w.length / k;
        float[] scales = new float[k];
        float[] q = new float[w.length];
        for (int o = 0; o < k; o++) {
            double max = 0;
            for (int i = o * per; i < (o + 1) * per; i++) {
                max = Math.max(max, Math.abs(w[i]));
            }
            if (!Double.isFinite(max)) {
                throw new ModelException(u.convName + ": a folded weight is NaN or infinite; int8 cannot represent it");
            }
            double s = max > 0 ? max / 127 : 1;
            scales[o] = (float) s;
            for (int i = o * per; i < (o + 1) * per; i++) {
                q[i] = (float) Math.max(-127, Math.min(127, Math.rint(w[i] / (double) scales[o])));
            }
        }
        return new Quantized(be.fromHost(q, u.weight.shape()), scales, input);
    }

    // ---- workspaces -------------------------------------------------------------------------------------------

    /**
     * Buffers for every convolution output of one input shape, allocated now in their own scope. Activations of
     * equal size whose lifetimes do not overlap share a buffer (ResNet-18 at 1x3x224x224: 14 buffers, 7.7 MB, for 21
     * convolution outputs). Max and average pooling outputs (two small arrays per call) come from the caller's
     * scope and are freed before the call returns.
     */
    public InferenceWorkspace workspace(Shape input) {
        refresh();
        int inChannels = inChannels();
        if (input.rank() != 4 || input.dim(1) != inChannels) {
            throw new ModelException("the model expects images [N, " + inChannels + ", H, W], got " + input);
        }
        return new InferenceWorkspace(this, input, shapes(input));
    }

    // ---- folding ------------------------------------------------------------------------------------------------

    /** Refolds every layer whose sources changed; a no-op once detached. */
    private synchronized void refresh() {
        if (closed) {
            throw new ModelException("the inference plan was closed");
        }
        if (model == null) {
            return;
        }
        for (FoldedConvolution u : units) {
            u.refreshIfStale();
        }
    }

    /**
     * Folds every layer now and cuts the link to the model: later changes to its parameters are not seen, and
     * the model may be closed. Returns this plan.
     */
    public synchronized InferencePlan detach() {
        refresh();
        if (model != null) {
            inChannels = model.config().inChannels();
        }
        model = null;
        for (FoldedConvolution u : units) {
            u.dropSources();
        }
        return this;
    }

    /** Bytes of folded weights the plan holds. */
    public long weightBytes() {
        return scope.liveBytes();
    }

    @Override
    public synchronized void close() {
        closed = true;
        model = null;
        scope.close();
    }
}
