package dev.graft.models;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Sets trainable flags and the frozen state of batch-norm layers. The frozen state of a layer is decided here,
 * once, by the rule in {@link BatchNormPolicy}: a freeze call after which the layer's weight and bias are both
 * frozen freezes the layer; an unfreeze call that selects either unfreezes it.
 */
final class Freezing {
    private Freezing() {
    }

    static void apply(Module root, ParameterSelector selector, boolean freeze) {
        root.namedParameters().forEach((name, p) -> {
            if (selector.matches(name)) {
                p.setTrainable(!freeze);
            }
        });
        for (Map.Entry<String, BatchNorm2d> e : batchNorms(root).entrySet()) {
            String prefix = e.getKey().isEmpty() ? "" : e.getKey() + ".";
            boolean w = selector.matches(prefix + BatchNorm2d.WEIGHT);
            boolean b = selector.matches(prefix + BatchNorm2d.BIAS);
            BatchNorm2d bn = e.getValue();
            if (freeze && (w || b) && !bn.weight().trainable() && !bn.bias().trainable()) {
                bn.setFrozen(true);
            } else if (!freeze && (w || b)) {
                bn.setFrozen(false);
            }
        }
    }

    static void freezeUpTo(Module root, String name) {
        Module target = root.module(name);
        List<Module> order = new ArrayList<>(root.namedModules().values());
        Map<Module, Integer> position = new IdentityHashMap<>();
        for (int i = 0; i < order.size(); i++) {
            position.put(order.get(i), i);
        }
        int cut = position.get(target);
        Set<String> before = new HashSet<>();
        Set<String> after = new HashSet<>();
        root.namedParameters().forEach((n, p) -> {
            int at = position.getOrDefault(p.owner(), -1);
            (at < cut ? before : after).add(n);
        });
        if (after.isEmpty()) {
            throw new ModelException("freezeUpTo('" + name + "'): nothing from '" + name + "' on has parameters, "
                    + "so the whole model would be frozen; use freeze() for that");
        }
        apply(root, ParameterSelector.names(before), true);
        apply(root, ParameterSelector.names(after), false);
    }

    /** Batch-norm layers keyed by name relative to {@code root} ("" when root itself is one). */
    private static Map<String, BatchNorm2d> batchNorms(Module root) {
        Map<String, BatchNorm2d> out = new java.util.LinkedHashMap<>();
        if (root instanceof BatchNorm2d bn) {
            out.put("", bn);
        }
        root.namedModules().forEach((n, m) -> {
            if (m instanceof BatchNorm2d bn) {
                out.put(n, bn);
            }
        });
        return out;
    }
}
