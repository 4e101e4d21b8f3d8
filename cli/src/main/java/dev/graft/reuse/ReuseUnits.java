package dev.graft.reuse;

import dev.graft.models.LayerOutputs;
import dev.graft.models.Linear;
import dev.graft.models.Module;
import dev.graft.models.Sequential;

import java.util.ArrayList;
import java.util.List;

/**
 * The layers the feature-reuse papers count, read off a network that is a chain of children ({@link LayerOutputs}):
 * the <b>stem</b> (every top-level module before the first {@link Sequential} stage: a ResNet's conv1, bn1, relu,
 * maxpool; its output is the last of them), each child of each stage (a ResNet's residual blocks {@code layer1.0}
 * ... {@code layer4.x}), then each top-level module after the stages: a parameter-free one (a ResNet's
 * {@code avgpool}, the pooled features before fc) and, only when {@code withHead}, the final {@link Linear}
 * ({@code fc}; left out when the two models' heads differ, e.g. 1000 ImageNet classes against 2).
 */
public final class ReuseUnits {
    /** A layer: its name, the chain path whose output is its activation, and the parameter prefixes it owns. */
    public record Unit(String name, String output, List<String> prefixes) {
        public boolean hasParameters() {
            return !prefixes.isEmpty();
        }

        /** Whether {@code key} (a parameter or buffer name) belongs to this layer. */
        public boolean owns(String key) {
            for (String p : prefixes) {
                if (key.startsWith(p + ".")) {
                    return true;
                }
            }
            return false;
        }
    }

    private ReuseUnits() {
    }

    /** The path of the classification head: the chain's last module when it is a {@link Linear}, else null. */
    public static String head(Module model) {
        List<String> chain = LayerOutputs.chain(model);
        String last = chain.isEmpty() ? null : chain.get(chain.size() - 1);
        return last != null && model.module(last) instanceof Linear ? last : null;
    }

    public static List<Unit> of(Module model, boolean withHead) {
        List<String> chain = LayerOutputs.chain(model);
        String head = head(model);
        List<Unit> out = new ArrayList<>();
        List<String> stem = new ArrayList<>();
        boolean stages = false;
        for (var e : model.children().entrySet()) {
            String name = e.getKey();
            Module child = e.getValue();
            if (child instanceof Sequential) {
                if (!stages && !stem.isEmpty()) {
                    out.add(new Unit("stem", stem.get(stem.size() - 1), parametric(model, stem)));
                }
                stages = true;
                for (String block : child.children().keySet()) {
                    String path = name + "." + block;
                    out.add(new Unit(path, lastUnder(chain, path), List.of(path)));
                }
            } else if (!stages) {
                stem.add(name);
            } else if (name.equals(head)) {
                if (withHead) {
                    out.add(new Unit(name, name, List.of(name)));
                }
            } else {
                out.add(new Unit(name, name, parametric(model, List.of(name))));
            }
        }
        if (!stages) {
            throw new ReuseException("the network has no stages of blocks (Sequential children) to count layers by");
        }
        return out;
    }

    private static List<String> parametric(Module model, List<String> names) {
        List<String> out = new ArrayList<>();
        for (String n : names) {
            if (!model.module(n).namedState().isEmpty()) {
                out.add(n);
            }
        }
        return out;
    }

    private static String lastUnder(List<String> chain, String path) {
        String last = null;
        for (String c : chain) {
            if (c.equals(path) || c.startsWith(path + ".")) {
                last = c;
            }
        }
        return last;
    }
}
