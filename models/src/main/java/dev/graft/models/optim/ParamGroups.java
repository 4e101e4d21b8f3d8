package dev.graft.models.optim;

import dev.graft.models.Module;
import dev.graft.models.Parameter;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;

/** Common ways to split a model's parameters into groups. */
public final class ParamGroups {
    private ParamGroups() {
    }

    /** One group "all" with every parameter of the model (frozen ones are skipped at each step). */
    public static List<ParamGroup> all(Module model) {
        return List.of(ParamGroup.of("all", model.parameters()));
    }

    /**
     * Two groups, "backbone" (everything else) and "head" (parameters matching {@code headSelectors}, e.g.
     * {@code "fc"}), so the backbone can take a lower learning rate: {@code groups.get(0).lr(1e-4)}.
     */
    public static List<ParamGroup> backboneAndHead(Module model, String... headSelectors) {
        List<Parameter> head = model.parameters(headSelectors);
        Set<Parameter> inHead = Collections.newSetFromMap(new IdentityHashMap<>());
        inHead.addAll(head);
        List<Parameter> backbone = new ArrayList<>();
        for (Parameter p : model.parameters()) {
            if (!inHead.contains(p)) {
                backbone.add(p);
            }
        }
        return List.of(ParamGroup.of("backbone", backbone), ParamGroup.of("head", head));
    }

    /**
     * Splits each group into itself and "{name}_no_decay" with weight decay 0 for every parameter of rank 1 or
     * less: batch-norm weights and biases and all biases (timm's rule); other overrides are kept.
     */
    public static List<ParamGroup> withoutDecayOnNormAndBias(List<ParamGroup> groups) {
        List<ParamGroup> out = new ArrayList<>();
        for (ParamGroup g : groups) {
            List<Parameter> decay = new ArrayList<>();
            List<Parameter> noDecay = new ArrayList<>();
            for (Parameter p : g.parameters()) {
                (p.shape().rank() <= 1 ? noDecay : decay).add(p);
            }
            if (!decay.isEmpty()) {
                out.add(g.derive(g.name(), decay));
            }
            if (!noDecay.isEmpty()) {
                out.add(g.derive(g.name() + "_no_decay", noDecay).weightDecay(0));
            }
        }
        return out;
    }
}
