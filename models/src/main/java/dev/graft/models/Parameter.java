package dev.graft.models;

import dev.graft.engine.Shape;
import dev.graft.engine.Tensor;

/**
 * A learnable tensor of a {@link Module}: its values, its qualified name ({@code layer1.0.conv1.weight}, as in
 * torchvision's {@code state_dict()}) and a per-parameter {@code trainable} flag.
 *
 * <p>The flag is read in exactly two places: graph recording (the tensor's {@code requiresGrad} follows it, so a
 * frozen parameter records no graph and gets no gradient) and the optimizers (a frozen parameter gets no update,
 * no momentum and no weight decay). Batch-norm statistics do not read it; they follow a {@link BatchNormPolicy}.
 */
public final class Parameter {
    private final Module owner;
    private final String localName;
    private Tensor tensor;
    private boolean trainable = true;

    Parameter(Module owner, String localName, Tensor tensor) {
        this.owner = owner;
        this.localName = localName;
        this.tensor = tensor.requiresGrad(true);
    }

    /** The qualified name from the outermost module: {@code layer1.0.conv1.weight}. */
    public String name() {
        return owner.qualify(localName);
    }

    /** The name inside the module that registered it: {@code weight}. */
    public String localName() {
        return localName;
    }

    /** The module that registered this parameter. */
    public Module owner() {
        return owner;
    }

    /** The live values (storage owned by the model's scope); a leaf that requires grad iff trainable. */
    public Tensor tensor() {
        return tensor;
    }

    public Shape shape() {
        return tensor.shape();
    }

    /** The accumulated gradient, or null (frozen, or no backward since the last zeroGrad). */
    public Tensor grad() {
        return tensor.grad();
    }

    public boolean trainable() {
        return trainable;
    }

    /**
     * Freezes ({@code false}) or unfreezes ({@code true}). Freezing drops a gradient left from an earlier
     * backward pass, so a frozen parameter never holds one.
     */
    public void setTrainable(boolean flag) {
        trainable = flag;
        tensor.requiresGrad(flag);
        if (!flag) {
            tensor.zeroGrad();
        }
    }

    /** Swaps the storage (input-channel adaptation); the old storage is freed, the flag kept. */
    void replace(Tensor values) {
        Tensor old = tensor;
        tensor = values.requiresGrad(trainable);
        old.close();
    }

    @Override
    public String toString() {
        return "Parameter " + name() + " " + shape() + (trainable ? "" : " (frozen)");
    }
}
