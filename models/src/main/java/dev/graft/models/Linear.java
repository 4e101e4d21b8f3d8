package dev.graft.models;

import dev.graft.engine.DType;
import dev.graft.engine.Device;
import dev.graft.engine.Functional;
import dev.graft.engine.Tensor;

/** {@code torch.nn.Linear(in, out)}: weight [out, in], bias [out]; y = x w^T + b. Built with zeros; see {@link Init}. */
public final class Linear extends Module {
    private final int inFeatures;
    private final int outFeatures;
    private final Parameter weight;
    private final Parameter bias;

    public Linear(int inFeatures, int outFeatures, boolean bias, Device device, DType dtype) {
        if (inFeatures < 1 || outFeatures < 1) {
            throw new ModelException("Linear(" + inFeatures + ", " + outFeatures + "): both sizes must be >= 1");
        }
        this.inFeatures = inFeatures;
        this.outFeatures = outFeatures;
        this.weight = registerParameter("weight", Tensor.zeros(device, dtype, outFeatures, inFeatures));
        this.bias = bias ? registerParameter("bias", Tensor.zeros(device, dtype, outFeatures)) : null;
    }

    @Override
    public Tensor forward(Tensor x) {
        return Functional.linear(x, weight.tensor(), bias == null ? null : bias.tensor());
    }

    public int inFeatures() {
        return inFeatures;
    }

    public int outFeatures() {
        return outFeatures;
    }

    /** {@code gelu(forward(x))} (exact GELU): one fused kernel at inference ({@link Functional#linearGelu}). */
    public Tensor forwardGelu(Tensor x) {
        return Functional.linearGelu(x, weight.tensor(), bias == null ? null : bias.tensor());
    }

    /** {@code residual + forward(x)}: one fused kernel at inference ({@link Functional#linearAdd}). */
    public Tensor forwardAdd(Tensor x, Tensor residual) {
        return Functional.linearAdd(x, weight.tensor(), bias == null ? null : bias.tensor(), residual);
    }

    public Parameter weight() {
        return weight;
    }

    public Parameter bias() {
        return bias;
    }

    @Override
    public String toString() {
        return "Linear(" + inFeatures + ", " + outFeatures + ") '" + path() + "'";
    }
}
