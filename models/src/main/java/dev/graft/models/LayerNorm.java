package dev.graft.models;

import dev.graft.engine.DType;
import dev.graft.engine.Device;
import dev.graft.engine.Functional;
import dev.graft.engine.Tensor;

/** {@code torch.nn.LayerNorm(width, eps)} over the last axis: weight [width] (ones), bias [width] (zeros). */
public final class LayerNorm extends Module {
    private final int width;
    private final double eps;
    private final Parameter weight;
    private final Parameter bias;

    public LayerNorm(int width, double eps, Device device, DType dtype) {
        if (width < 1) {
            throw new ModelException("LayerNorm(" + width + "): the width must be >= 1");
        }
        this.width = width;
        this.eps = eps;
        this.weight = registerParameter("weight", Tensor.full(device, dtype, 1.0, width));
        this.bias = registerParameter("bias", Tensor.zeros(device, dtype, width));
    }

    @Override
    public Tensor forward(Tensor x) {
        return Functional.layerNorm(x, weight.tensor(), bias.tensor(), eps);
    }

    public int width() {
        return width;
    }

    public double eps() {
        return eps;
    }

    @Override
    public String toString() {
        return "LayerNorm(" + width + ", eps=" + eps + ") '" + path() + "'";
    }
}
