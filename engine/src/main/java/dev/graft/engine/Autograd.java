package dev.graft.engine;

import dev.graft.engine.backend.Buffer;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reverse-mode differentiation over the recorded graph. Gradients of intermediate tensors are freed as soon as
 * no pending node reads them (a gradient may be shared: add passes its output gradient to both inputs), so a
 * backward pass holds a few activation-sized gradients at a time instead of all of them until the step's scope
 * closes. Only buffers allocated during this pass are freed early: never a user's output gradient, a forward
 * value or a leaf's accumulated gradient.
 */
final class Autograd {
    private Autograd() {
    }

    /**
     * Back-propagates {@code seed} (the gradient of {@code root}) and accumulates into leaf gradients. Buffers
     * whose {@link Buffer#serial()} is at least {@code firstTemporary} were allocated for this pass.
     */
    static void backward(Tensor root, NDArray seed, long firstTemporary) {
        List<Tensor> order = topologicalOrder(root);
        Map<Tensor, NDArray> grads = new IdentityHashMap<>();
        Holds holds = new Holds(firstTemporary);
        grads.put(root, seed);
        holds.hold(seed);
        for (int i = order.size() - 1; i >= 0; i--) {
            Tensor t = order.get(i);
            Node node = t.node();
            NDArray g = grads.remove(t);
            if (g == null) {
                continue;
            }
            if (node.released) {
                throw new GraftException("backward through the graph a second time: the saved values of '"
                        + node.function.name() + "' were already used and freed; run the forward pass again");
            }
            node.function.setGradientWritable(holds.soleTemporary(g));
            NDArray[] inputGrads = node.function.backward(g);
            node.released = true;
            node.function.releaseSaved();
            for (NDArray a : inputGrads) {
                holds.hold(a); // in hand until handed on below
            }
            for (int k = 0; k < node.inputs.length; k++) {
                Tensor in = node.inputs[k];
                NDArray gk = inputGrads[k];
                if (in == null || !in.requiresGrad() || gk == null) {
                    continue;
                }
                if (in.node() == null) {
                    // A temporary that nothing else reads may become the leaf's gradient itself, saving a copy.
                    if (in.accumulateGrad(gk, holds.soleTemporary(gk))) {
                        holds.keep(gk);
                    }
                } else {
                    NDArray prev = grads.get(in);
                    if (prev == null) {
                        grads.put(in, gk);
                        holds.hold(gk);
                    } else if (holds.soleTemporary(prev) && prev.shape().equals(gk.shape()) && prev.buffer() != gk.buffer()) {
                        // prev is ours alone: sum in place (a float sum is the same whichever array holds it).
                        prev.backend().axpyInPlace(prev, 1, gk);
                    } else {
                        // A new array: prev may be a gradient another node still reads.
                        NDArray sum = prev.backend().add(prev, gk);
                        grads.put(in, sum);
                        holds.hold(sum);
                        holds.drop(prev);
                    }
                }
            }
            for (NDArray a : inputGrads) {
                holds.drop(a);
            }
            holds.drop(g);
        }
        if (root.node() == null && root.requiresGrad()) {
            root.accumulateGrad(seed, false);
        }
    }

    /** Reference counts of the gradient buffers in play; a temporary is freed when its count reaches zero. */
    private static final class Holds {
        private final long firstTemporary;
        private final Map<Buffer, Integer> counts = new IdentityHashMap<>();
        private final Set<Buffer> kept = Collections.newSetFromMap(new IdentityHashMap<>());

        Holds(long firstTemporary) {
            this.firstTemporary = firstTemporary;
        }

        void hold(NDArray a) {
            if (a != null) {
                counts.merge(a.buffer(), 1, Integer::sum);
            }
        }

        void drop(NDArray a) {
            if (a == null) {
                return;
            }
            Buffer b = a.buffer();
            int n = counts.merge(b, -1, Integer::sum);
            if (n == 0) {
                counts.remove(b);
                if (b.serial() >= firstTemporary && !kept.contains(b)) {
                    b.close();
                }
            }
        }

        /** True when {@code a} was made by this pass and only the one reference in hand reads it. */
        boolean soleTemporary(NDArray a) {
            Buffer b = a.buffer();
            return b.serial() >= firstTemporary && counts.getOrDefault(b, 0) == 1 && !kept.contains(b);
        }

        /** {@code a}'s storage now belongs to someone else (a leaf's gradient): never free it here. */
        void keep(NDArray a) {
            kept.add(a.buffer());
        }
    }

    /** Non-leaf tensors reachable from {@code root}, each after all of its inputs (iterative DFS). */
    private static List<Tensor> topologicalOrder(Tensor root) {
        List<Tensor> order = new ArrayList<>();
        if (root.node() == null) {
            return order;
        }
        Set<Tensor> visited = Collections.newSetFromMap(new IdentityHashMap<>());
        ArrayDeque<Object[]> stack = new ArrayDeque<>();
        stack.push(new Object[] {root, 0});
        visited.add(root);
        while (!stack.isEmpty()) {
            Object[] frame = stack.peek();
            Tensor t = (Tensor) frame[0];
            int next = (Integer) frame[1];
            Tensor[] inputs = t.node().inputs;
            if (next < inputs.length) {
                frame[1] = next + 1;
                Tensor in = inputs[next];
                if (in != null && in.node() != null && visited.add(in)) {
                    stack.push(new Object[] {in, 0});
                }
            } else {
                stack.pop();
                order.add(t);
            }
        }
        return order;
    }
}
