package dev.graft.models;

import dev.graft.engine.StateDict;
import dev.graft.engine.Tensor;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A layer or a network of layers, as {@code torch.nn.Module}: named children, parameters and buffers whose
 * qualified names and order equal torchvision's {@code state_dict()} keys (per module: parameters, then buffers,
 * then each child in registration order), {@code train()}/{@code eval()}, and {@link #forward}.
 *
 * <p>Freezing works on any subtree: {@link #freeze(String...)} takes module prefixes ({@code "layer4"},
 * {@code "layer3.1"}) or globs on parameter names ({@code "layer4.*"}, {@code "*.bn?.weight"}), relative to this
 * module; frozen batch norm follows {@link #batchNormPolicy()}.
 *
 * <p>Modules build their tensors in the current {@link dev.graft.engine.Scope}; a whole model such as
 * {@link ResNet} owns a detached scope for them and is closed as a unit. Not thread-safe.
 */
public abstract class Module {
    private final LinkedHashMap<String, Parameter> parameters = new LinkedHashMap<>();
    private final LinkedHashMap<String, Tensor> buffers = new LinkedHashMap<>();
    private final LinkedHashMap<String, Module> children = new LinkedHashMap<>();
    private Module parent;
    private String nameInParent;
    private boolean training = true;
    BatchNormPolicy batchNormPolicy = BatchNormPolicy.TRACK;

    /** Runs the layer on a batch; records a graph only where some input or parameter requires grad. */
    public abstract Tensor forward(Tensor x);

    // ---- registration -----------------------------------------------------------------------------------

    protected final Parameter registerParameter(String name, Tensor values) {
        checkFreeName(name);
        Parameter p = new Parameter(this, name, values);
        parameters.put(name, p);
        return p;
    }

    protected final Tensor registerBuffer(String name, Tensor values) {
        checkFreeName(name);
        buffers.put(name, values);
        return values;
    }

    /** Adds a child, or replaces the child of that name in place (its position, hence key order, is kept). */
    protected final <M extends Module> M registerModule(String name, M module) {
        Module child = module;
        if (child.parent != null && !(child.parent == this && name.equals(child.nameInParent))) {
            throw new ModelException("module '" + child.path() + "' already belongs to a parent; build a new one for '"
                    + qualify(name) + "'");
        }
        if (parameters.containsKey(name) || buffers.containsKey(name)) {
            throw new ModelException("'" + qualify(name) + "' is already a parameter or buffer");
        }
        Module old = children.put(name, child);
        if (old != null && old != child) {
            old.parent = null;
        }
        child.parent = this;
        child.nameInParent = name;
        child.train(training);
        child.applyPolicy(batchNormPolicy);
        return module;
    }

    private void checkFreeName(String name) {
        if (name.isEmpty() || name.contains(".")) {
            throw new ModelException("invalid name '" + name + "': names are non-empty and contain no '.'");
        }
        if (parameters.containsKey(name) || buffers.containsKey(name) || children.containsKey(name)) {
            throw new ModelException("'" + qualify(name) + "' is already registered");
        }
    }

    // ---- names ------------------------------------------------------------------------------------------

    /** This module's qualified name from the outermost module ("" for the root). */
    public final String path() {
        if (parent == null) {
            return "";
        }
        String up = parent.path();
        return up.isEmpty() ? nameInParent : up + "." + nameInParent;
    }

    /** {@code local} qualified with this module's path. */
    final String qualify(String local) {
        String p = path();
        return p.isEmpty() ? local : p + "." + local;
    }

    public final Module parent() {
        return parent;
    }

    // ---- traversal --------------------------------------------------------------------------------------

    public final Map<String, Module> children() {
        return Collections.unmodifiableMap(children);
    }

    /** Every descendant in pre-order, keyed by name relative to this module (this module itself excluded). */
    public final LinkedHashMap<String, Module> namedModules() {
        LinkedHashMap<String, Module> out = new LinkedHashMap<>();
        collectModules("", out);
        return out;
    }

    private void collectModules(String prefix, Map<String, Module> out) {
        children.forEach((n, m) -> {
            out.put(prefix + n, m);
            m.collectModules(prefix + n + ".", out);
        });
    }

    /** The descendant at a dotted path relative to this module ({@code "layer2.0.downsample"}). */
    public final Module module(String path) {
        Module m = namedModules().get(path);
        if (m == null) {
            throw new ModelException("no module '" + path + "' in " + getClass().getSimpleName()
                    + "; top-level modules are " + children.keySet());
        }
        return m;
    }

    /** Parameters keyed by name relative to this module, in torchvision's {@code named_parameters()} order. */
    public final LinkedHashMap<String, Parameter> namedParameters() {
        LinkedHashMap<String, Parameter> out = new LinkedHashMap<>();
        collectParameters("", out);
        return out;
    }

    private void collectParameters(String prefix, Map<String, Parameter> out) {
        parameters.forEach((n, p) -> out.put(prefix + n, p));
        children.forEach((n, m) -> m.collectParameters(prefix + n + ".", out));
    }

    public final List<Parameter> parameters() {
        return new ArrayList<>(namedParameters().values());
    }

    /** The parameters whose names match any selector (module prefix or glob, see {@link ParameterSelector}). */
    public final List<Parameter> parameters(String... selectors) {
        ParameterSelector s = ParameterSelector.of(this, selectors);
        List<Parameter> out = new ArrayList<>();
        namedParameters().forEach((n, p) -> {
            if (s.matches(n)) {
                out.add(p);
            }
        });
        return out;
    }

    /** Parameters that will get gradients and optimizer updates. */
    public final List<Parameter> trainableParameters() {
        List<Parameter> out = new ArrayList<>();
        for (Parameter p : namedParameters().values()) {
            if (p.trainable()) {
                out.add(p);
            }
        }
        return out;
    }

    /** Parameters and buffers in {@code state_dict()} order: live tensors, no copies. */
    public final LinkedHashMap<String, Tensor> namedState() {
        LinkedHashMap<String, Tensor> out = new LinkedHashMap<>();
        collectState("", out);
        return out;
    }

    private void collectState(String prefix, Map<String, Tensor> out) {
        parameters.forEach((n, p) -> out.put(prefix + n, p.tensor()));
        buffers.forEach((n, b) -> out.put(prefix + n, b));
        children.forEach((n, m) -> m.collectState(prefix + n + ".", out));
    }

    /** Number of parameter elements (trainable and frozen). */
    public final long parameterCount() {
        long n = 0;
        for (Parameter p : namedParameters().values()) {
            n += p.shape().numel();
        }
        return n;
    }

    // ---- modes ------------------------------------------------------------------------------------------

    /** Training mode for this module and its descendants (batch statistics, except frozen BN under HOLD/AFFINE). */
    public Module train() {
        return train(true);
    }

    public Module train(boolean mode) {
        training = mode;
        children.values().forEach(c -> c.train(mode));
        return this;
    }

    /** Evaluation mode: every batch-norm layer normalises with its running statistics. */
    public Module eval() {
        return train(false);
    }

    public final boolean isTraining() {
        return training;
    }

    // ---- state ------------------------------------------------------------------------------------------

    /** Host copies of every parameter and buffer under torchvision's keys, plus {@link #metadata()}. */
    public StateDict stateDict() {
        return StateLoading.toStateDict(this);
    }

    /**
     * Copies matching tensors in place, as {@code load_state_dict}. Keys carrying a common {@code module.},
     * {@code model.} or {@code backbone.} prefix are stripped first. Strict: any missing, unexpected or
     * shape-mismatched key throws {@link StateDictMismatchException} and nothing is written. Non-strict: the
     * matching tensors load and the rest is reported. A missing {@code num_batches_tracked} (checkpoints older
     * than PyTorch 0.4.1, including torchvision's original ImageNet weights) loads as 0, as PyTorch does.
     */
    public LoadReport load(StateDict state, boolean strict) {
        return StateLoading.load(this, state, strict);
    }

    /** String metadata saved with {@link #stateDict()} (architecture, batch-norm policy); empty here. */
    public Map<String, String> metadata() {
        return new LinkedHashMap<>();
    }

    // ---- freezing ---------------------------------------------------------------------------------------

    /** Freezes every parameter of this module (batch norm per {@link #batchNormPolicy()}). */
    public Module freeze() {
        Freezing.apply(this, ParameterSelector.all(), true);
        return this;
    }

    public Module unfreeze() {
        Freezing.apply(this, ParameterSelector.all(), false);
        return this;
    }

    /** Freezes parameters selected by module prefix ({@code "layer1"}) or glob ({@code "layer4.*"}). */
    public Module freeze(String... selectors) {
        Freezing.apply(this, ParameterSelector.of(this, selectors), true);
        return this;
    }

    public Module unfreeze(String... selectors) {
        Freezing.apply(this, ParameterSelector.of(this, selectors), false);
        return this;
    }

    /**
     * Freezes every parameter registered before module {@code name} and unfreezes that module and everything
     * after it, as fastai's {@code freeze_to}: {@code freezeUpTo("layer4")} trains layer4 and fc only.
     */
    public Module freezeUpTo(String name) {
        Freezing.freezeUpTo(this, name);
        return this;
    }

    public final BatchNormPolicy batchNormPolicy() {
        return batchNormPolicy;
    }

    /**
     * Sets the policy for this module and every descendant; frozen batch-norm layers switch at once (under
     * {@link BatchNormPolicy#AFFINE} their weight and bias become trainable, otherwise frozen).
     */
    public Module setBatchNormPolicy(BatchNormPolicy policy) {
        applyPolicy(policy);
        return this;
    }

    void applyPolicy(BatchNormPolicy policy) {
        batchNormPolicy = policy;
        children.values().forEach(c -> c.applyPolicy(policy));
    }

    @Override
    public String toString() {
        String p = path();
        return getClass().getSimpleName() + (p.isEmpty() ? "" : " '" + p + "'");
    }
}
