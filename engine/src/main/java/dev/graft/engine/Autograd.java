package dev.graft.engine;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Reverse-mode differentiation over the recorded graph. */
final class Autograd {
    private Autograd() {
    }

    /** Back-propagates {@code seed} (the gradient of {@code root}) and accumulates into leaf gradients. */
    static void backward(Tensor root, NDArray seed) {
        List<Tensor> order = topologicalOrder(root);
        Map<Tensor, NDArray> grads = new IdentityHashMap<>();
        grads.put(root, seed);
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
            NDArray[] inputGrads = node.function.backward(g);
            node.released = true;
            node.function.release();
            for (int k = 0; k < node.inputs.length; k++) {
                Tensor in = node.inputs[k];
                if (in == null || !in.requiresGrad() || inputGrads[k] == null) {
                    continue;
                }
                if (in.node() == null) {
                    in.accumulateGrad(inputGrads[k]);
                } else {
                    NDArray prev = grads.get(in);
                    if (prev == null) {
                        grads.put(in, inputGrads[k]);
                    } else {
                        // A new array: prev may be a gradient another node still reads.
                        grads.put(in, prev.backend().add(prev, inputGrads[k]));
                    }
                }
            }
        }
        if (root.node() == null && root.requiresGrad()) {
            root.accumulateGrad(seed);
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
