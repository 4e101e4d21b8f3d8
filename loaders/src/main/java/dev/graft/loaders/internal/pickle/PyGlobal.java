package dev.graft.loaders.internal.pickle;

/** A reference to a Python global ({@code module.name}) that the handler allowed; never imported or run. */
public record PyGlobal(String module, String name) {
    public String qualified() {
        return module + "." + name;
    }

    @Override
    public String toString() {
        return qualified();
    }
}
