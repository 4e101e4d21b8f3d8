package dev.graft.engine;

/** The record autograd keeps for one non-leaf tensor: the primitive that made it and its inputs. */
final class Node {
    final Function function;
    final Tensor[] inputs;
    boolean released;

    Node(Function function, Tensor[] inputs) {
        this.function = function;
        this.inputs = inputs;
    }
}
