package dev.graft.models;

import dev.graft.engine.Tensor;

/** {@code torch.nn.ReLU}; no parameters (torchvision's {@code inplace=True} is a memory detail with no key). */
public final class ReLU extends Module {
    @Override
    public Tensor forward(Tensor x) {
        return x.relu();
    }
}
