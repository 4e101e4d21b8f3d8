package dev.graft.models.optim;

import dev.graft.models.Parameter;

import java.util.Collection;
import java.util.List;
import java.util.OptionalDouble;

/**
 * A named set of parameters with its own learning rate and weight decay where set (PyTorch's
 * {@code param_groups}; e.g. a backbone at a tenth of the head's rate). Unset values fall back to the
 * optimizer's. The learning rate can change between steps (schedules). Frozen parameters may sit in a group:
 * the optimizer skips them until they are unfrozen, so unfreezing needs no optimizer surgery.
 */
public final class ParamGroup {
    private final String name;
    private final List<Parameter> parameters;
    private Double lr;
    private Double weightDecay;

    private ParamGroup(String name, List<Parameter> parameters) {
        this.name = name;
        this.parameters = parameters;
    }

    public static ParamGroup of(String name, Collection<Parameter> parameters) {
        if (parameters.isEmpty()) {
            throw new OptimizerException("parameter group '" + name + "' is empty");
        }
        return new ParamGroup(name, List.copyOf(parameters));
    }

    /** Sets this group's learning rate (overrides the optimizer's). */
    public ParamGroup lr(double value) {
        if (!(value >= 0)) {
            throw new OptimizerException("learning rate of group '" + name + "' must be >= 0, got " + value);
        }
        lr = value;
        return this;
    }

    /** Sets this group's weight decay (overrides the optimizer's); 0 excludes it from decay. */
    public ParamGroup weightDecay(double value) {
        if (!(value >= 0)) {
            throw new OptimizerException("weight decay of group '" + name + "' must be >= 0, got " + value);
        }
        weightDecay = value;
        return this;
    }

    public String name() {
        return name;
    }

    public List<Parameter> parameters() {
        return parameters;
    }

    public OptionalDouble lrOverride() {
        return lr == null ? OptionalDouble.empty() : OptionalDouble.of(lr);
    }

    public OptionalDouble weightDecayOverride() {
        return weightDecay == null ? OptionalDouble.empty() : OptionalDouble.of(weightDecay);
    }

    /** A group with the same overrides over other parameters. */
    ParamGroup derive(String newName, List<Parameter> params) {
        ParamGroup g = of(newName, params);
        g.lr = lr;
        g.weightDecay = weightDecay;
        return g;
    }

    @Override
    public String toString() {
        return "ParamGroup " + name + " (" + parameters.size() + " parameters" + (lr == null ? "" : ", lr " + lr)
                + (weightDecay == null ? "" : ", weight decay " + weightDecay) + ")";
    }
}
