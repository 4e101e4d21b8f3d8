package dev.graft.models;

import dev.graft.engine.Tensor;

import java.util.List;

/** {@code torch.nn.Sequential}: children named "0", "1", ... run in order (ResNet stages, downsample paths). */
public final class Sequential extends Module {
    public Sequential(Module... layers) {
        this(List.of(layers));
    }

    public Sequential(List<? extends Module> layers) {
        for (int i = 0; i < layers.size(); i++) {
            registerModule(Integer.toString(i), layers.get(i));
        }
    }

    /** Adds a layer under {@code name} (the next index, as the registry's declarations name them). */
    void append(String name, Module layer) {
        registerModule(name, layer);
    }

    @Override
    public Tensor forward(Tensor x) {
        Tensor y = x;
        for (Module m : children().values()) {
            y = m.forward(y);
        }
        return y;
    }

    public Module get(int index) {
        Module m = children().get(Integer.toString(index));
        if (m == null) {
            throw new ModelException(this + " has " + size() + " layers; index " + index + " is out of range");
        }
        return m;
    }

    public int size() {
        return children().size();
    }
}
