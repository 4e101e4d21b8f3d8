package dev.graft.models;

import dev.graft.engine.Functional;
import dev.graft.engine.Tensor;

/** {@code torch.nn.AdaptiveAvgPool2d((1, 1))}: [N,C,H,W] -> [N,C,1,1]; only output size 1 (ResNets') exists. */
public final class AdaptiveAvgPool2d extends Module {
    @Override
    public Tensor forward(Tensor x) {
        return Functional.adaptiveAvgPool2d(x, 1);
    }
}
