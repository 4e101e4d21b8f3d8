package dev.graft.models;

import dev.graft.engine.Functional;
import dev.graft.engine.Tensor;
import dev.graft.engine.backend.Pool2dSpec;

/** {@code torch.nn.MaxPool2d(kernel, stride, padding)}, ceil_mode off; the ResNet stem uses (3, 2, 1). */
public final class MaxPool2d extends Module {
    private final Pool2dSpec spec;

    public MaxPool2d(int kernelSize, int stride, int padding) {
        this.spec = Pool2dSpec.of(kernelSize, stride, padding);
    }

    @Override
    public Tensor forward(Tensor x) {
        return Functional.maxPool2d(x, spec);
    }

    public Pool2dSpec spec() {
        return spec;
    }
}
