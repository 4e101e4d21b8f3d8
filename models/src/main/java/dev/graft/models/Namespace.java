package dev.graft.models;

import dev.graft.engine.Tensor;

/**
 * A module that only groups names ({@code encoder}, {@code heads}, {@code blocks}, an MLP's {@code 0} and {@code 3}):
 * the network that owns it runs the forward pass, so calling this one's is a programming error.
 */
final class Namespace extends Module {
    Parameter addParameter(String name, Tensor values) {
        return registerParameter(name, values);
    }

    <M extends Module> M add(String name, M m) {
        return registerModule(name, m);
    }

    @Override
    public Tensor forward(Tensor x) {
        throw new ModelException("'" + path() + "' only groups names; its owner runs the forward pass");
    }
}
