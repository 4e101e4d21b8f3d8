package dev.graft.models;

import dev.graft.engine.Tensor;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.function.BiConsumer;

/**
 * Named intermediate activations of a network whose forward pass is its children applied in registration order,
 * as torchvision's ResNets are ({@code conv1 bn1 relu maxpool layer1..layer4 avgpool fc}): a {@link Sequential}
 * child is entered and its children run in order, and the input of a {@link Linear} is flattened from dimension 1
 * first (as {@code torch.flatten(x, 1)} before {@code fc}).
 *
 * <p>This is a forward hook on the module tree without touching the modules: each module whose dotted path is
 * asked for hands its output to a sink (where {@code register_forward_hook} would). It runs the modules one by
 * one, never a fused plan, so its values equal the unfused forward pass. The last output belongs to the caller's
 * scope; the sink must copy what it keeps before it returns, since an output is freed once the next module has run.
 * Whether a network really is such a chain is the caller's to check (for a ResNet the last output equals
 * {@link ResNet#forward} up to float rounding; the reuse tests check it).
 */
public final class LayerOutputs {
    private LayerOutputs() {
    }

    /** The leaf modules of the chain, by dotted path, in the order they run ({@link Sequential}s expanded). */
    public static List<String> chain(Module root) {
        List<String> out = new ArrayList<>();
        collect(root, "", out);
        return out;
    }

    private static void collect(Module m, String prefix, List<String> out) {
        m.children().forEach((name, child) -> {
            if (child instanceof Sequential) {
                collect(child, prefix + name + ".", out);
            } else {
                out.add(prefix + name);
            }
        });
    }

    /**
     * Runs the chain on {@code x} and gives {@code sink} (path, output) for each path in {@code names}, in running
     * order; stops after the last name asked for. A name that is not in the chain is a {@link ModelException}.
     */
    public static void run(Module root, Tensor x, Set<String> names, BiConsumer<String, Tensor> sink) {
        List<String> chain = chain(root);
        Set<String> left = new HashSet<>(names);
        for (String n : names) {
            if (!chain.contains(n)) {
                throw new ModelException("no layer '" + n + "' in the forward chain of " + root.getClass().getSimpleName()
                        + "; the chain is " + chain);
            }
        }
        Tensor y = x;
        boolean first = true;
        for (String path : chain) {
            if (left.isEmpty()) {
                return;
            }
            Module m = root.module(path);
            Tensor in = y;
            if (m instanceof Linear && in.shape().rank() > 2) {
                y = Stages.run(() -> m.forward(in.flatten(1))); // a flattened view: its source is left to the caller's scope
            } else if (first) {
                y = Stages.run(() -> m.forward(in)); // the caller's input is never freed here
            } else {
                // Each module's intermediates, and its input once it has run, are freed as it returns (the sink has
                // already copied what it keeps): a pass holds about one block's values at a time, as ResNet's own.
                y = Stages.consume(in, m::forward);
            }
            first = false;
            if (left.remove(path)) {
                sink.accept(path, y);
            }
        }
    }
}
