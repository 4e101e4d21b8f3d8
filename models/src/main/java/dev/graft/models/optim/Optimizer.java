package dev.graft.models.optim;

import dev.graft.engine.DType;
import dev.graft.engine.HostTensor;
import dev.graft.engine.NDArray;
import dev.graft.engine.Scope;
import dev.graft.engine.StateDict;
import dev.graft.engine.Tensor;
import dev.graft.engine.backend.Backend;
import dev.graft.models.Parameter;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Base of the optimizers: parameter groups with their own learning rate and weight decay, and per-parameter
 * state in a long-lived scope the optimizer owns (close it to free the state).
 *
 * <p>{@link #step()} updates trainable parameters that have a gradient and nothing else: a frozen parameter
 * gets no update, no weight decay and no state, even if it sits in a group (this is the second of the two
 * places that read the trainable flag; graph recording is the first). Unfrozen later, it starts with fresh
 * state, as a parameter added with {@code add_param_group} would in PyTorch.
 *
 * <p>{@link #exportState()} writes the state as a {@link StateDict} keyed {@code <parameter>.<field>}
 * (PyTorch's field names: {@code momentum_buffer}, {@code exp_avg}, {@code exp_avg_sq}, {@code step}) plus the
 * groups' current learning rates in metadata; {@link #importState} restores it exactly, so a loop resumed from
 * a checkpoint continues bit for bit.
 */
public abstract class Optimizer implements AutoCloseable {
    /** Metadata keys of an exported state. */
    public static final String META_KIND = "graft.optimizer";
    static final String META_GROUP_LR = "graft.optimizer.lr.";

    private final String kind;
    private final List<ParamGroup> groups;
    private final double[] lr;
    private final double[] initialLr;
    private final double[] weightDecay;
    private final Scope state;

    protected Optimizer(String kind, List<ParamGroup> groups, double defaultLr, double defaultWeightDecay) {
        if (groups.isEmpty()) {
            throw new OptimizerException(kind + ": no parameter groups given");
        }
        Set<Parameter> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        Set<String> names = new java.util.HashSet<>();
        for (ParamGroup g : groups) {
            if (!names.add(g.name())) {
                throw new OptimizerException(kind + ": two parameter groups are named '" + g.name() + "'");
            }
            for (Parameter p : g.parameters()) {
                if (!seen.add(p)) {
                    throw new OptimizerException(kind + ": parameter " + p.name() + " appears in more than one group");
                }
            }
        }
        this.kind = kind;
        this.groups = List.copyOf(groups);
        this.lr = new double[groups.size()];
        this.weightDecay = new double[groups.size()];
        for (int i = 0; i < groups.size(); i++) {
            lr[i] = groups.get(i).lrOverride().orElse(defaultLr);
            weightDecay[i] = groups.get(i).weightDecayOverride().orElse(defaultWeightDecay);
            check(lr[i] >= 0, "learning rate of group '" + groups.get(i).name() + "' must be >= 0, got " + lr[i]);
            check(weightDecay[i] >= 0, "weight decay must be >= 0, got " + weightDecay[i]);
        }
        this.initialLr = lr.clone();
        this.state = Scope.detached(kind + "-state");
    }

    /** Throws {@link OptimizerException} naming the optimizer unless {@code ok}. */
    protected final void check(boolean ok, String what) {
        if (!ok) {
            throw new OptimizerException(kind + ": " + what);
        }
    }

    // ---- stepping ---------------------------------------------------------------------------------------

    /** One update of every trainable parameter that has a gradient; frozen ones are skipped entirely. */
    public final void step() {
        for (int i = 0; i < groups.size(); i++) {
            for (Parameter p : groups.get(i).parameters()) {
                if (!p.trainable()) {
                    continue;
                }
                NDArray g = p.tensor().gradArray();
                if (g == null) {
                    continue;
                }
                NDArray values = p.tensor().data();
                update(p, values, g, lr[i], weightDecay[i]);
                values.buffer().bumpVersion();
            }
        }
    }

    /** Updates {@code values} in place with the fused backend kernel; state is allocated via {@link #newState}. */
    protected abstract void update(Parameter p, NDArray values, NDArray grad, double lr, double weightDecay);

    /** Frees every gradient of the optimizer's parameters (PyTorch's {@code zero_grad(set_to_none=True)}). */
    public final void zeroGrad() {
        for (ParamGroup g : groups) {
            for (Parameter p : g.parameters()) {
                p.tensor().zeroGrad();
            }
        }
    }

    /** A zero-filled array shaped and laid out like {@code like}, owned by the optimizer's scope. */
    protected final NDArray newState(NDArray like) {
        try (Scope.Entered in = state.enter()) {
            Backend b = like.backend();
            NDArray a = b.empty(like.dtype(), like.shape(), like.layout());
            b.fill(a, 0);
            return a;
        }
    }

    /** An array with the values of {@code host}, laid out like {@code like}, owned by the optimizer's scope. */
    protected final NDArray stateFromHost(HostTensor host, NDArray like) {
        if (!host.shape().equals(like.shape())) {
            throw new OptimizerException(kind + ": saved state of shape " + host.shape() + " for a parameter of shape "
                    + like.shape() + "; the checkpoint belongs to another model");
        }
        try (Scope.Entered in = state.enter()) {
            Backend b = like.backend();
            NDArray a = b.empty(like.dtype(), like.shape(), like.layout());
            if (like.dtype() == DType.F64 && host.dtype() == DType.F64) {
                try (Scope tmp = Scope.open("import")) {
                    b.copyInto(a, b.fromHost(host.doubles(), host.shape(), DType.F64));
                }
            } else {
                b.copyFromHost(a, host.toFloats());
            }
            return a;
        }
    }

    /** Host copy of a state array. */
    protected static HostTensor toHost(NDArray a) {
        return HostTensor.of(Tensor.of(a));
    }

    // ---- groups and learning rates ----------------------------------------------------------------------

    public final List<ParamGroup> groups() {
        return groups;
    }

    public final double lr(String group) {
        return lr[index(group)];
    }

    /** The rate the group started with (schedules scale from it). */
    public final double initialLr(String group) {
        return initialLr[index(group)];
    }

    public final void setLr(String group, double value) {
        check(value >= 0, "learning rate must be >= 0, got " + value);
        lr[index(group)] = value;
    }

    public final double weightDecay(String group) {
        return weightDecay[index(group)];
    }

    private int index(String group) {
        for (int i = 0; i < groups.size(); i++) {
            if (groups.get(i).name().equals(group)) {
                return i;
            }
        }
        throw new OptimizerException(kind + " has no parameter group '" + group + "'; groups are "
                + groups.stream().map(ParamGroup::name).toList());
    }

    // ---- state ------------------------------------------------------------------------------------------

    /** Parameters that have optimizer state (were updated at least once). */
    public abstract int stateCount();

    public abstract boolean hasState(Parameter p);

    /** Per-parameter state, keyed {@code <parameter>.<field>}, plus kind and group learning rates as metadata. */
    public final StateDict exportState() {
        StateDict out = new StateDict();
        for (ParamGroup g : groups) {
            for (Parameter p : g.parameters()) {
                exportState(p, out);
            }
        }
        out.metadata().put(META_KIND, kind);
        for (int i = 0; i < groups.size(); i++) {
            out.metadata().put(META_GROUP_LR + groups.get(i).name(), Double.toString(lr[i]));
        }
        return out;
    }

    protected abstract void exportState(Parameter p, StateDict out);

    /**
     * Replaces the state with an exported one. Every key must name a parameter of this optimizer and a field
     * it keeps, with the parameter's shape; group learning rates in the metadata are restored.
     */
    public final void importState(StateDict saved) {
        String savedKind = saved.metadata().get(META_KIND);
        check(savedKind == null || savedKind.equals(kind), "cannot import the state of a " + savedKind + " optimizer");
        Map<String, Parameter> byName = new LinkedHashMap<>();
        for (ParamGroup g : groups) {
            for (Parameter p : g.parameters()) {
                byName.put(p.name(), p);
            }
        }
        Map<Parameter, Map<String, HostTensor>> fields = new IdentityHashMap<>();
        List<String> unknown = new ArrayList<>();
        for (Map.Entry<String, HostTensor> e : saved.tensors().entrySet()) {
            String key = e.getKey();
            int dot = key.lastIndexOf('.');
            Parameter p = dot < 0 ? null : byName.get(key.substring(0, dot));
            if (p == null) {
                unknown.add(key);
            } else {
                fields.computeIfAbsent(p, q -> new LinkedHashMap<>()).put(key.substring(dot + 1), e.getValue());
            }
        }
        check(unknown.isEmpty(), "saved state for parameters this optimizer does not hold: "
                + (unknown.size() > 8 ? unknown.subList(0, 8) + " and " + (unknown.size() - 8) + " more" : unknown));
        clearState();
        fields.forEach(this::importState);
        for (int i = 0; i < groups.size(); i++) {
            String v = saved.metadata().get(META_GROUP_LR + groups.get(i).name());
            if (v != null) {
                lr[i] = Double.parseDouble(v);
            }
        }
    }

    /** Restores one parameter's fields (names as exported); throws {@link OptimizerException} on unknown fields. */
    protected abstract void importState(Parameter p, Map<String, HostTensor> fields);

    /** Drops all per-parameter state. */
    protected abstract void clearState();

    protected final String kind() {
        return kind;
    }

    /** Frees all optimizer state. */
    @Override
    public void close() {
        clearState();
        state.close();
    }
}
