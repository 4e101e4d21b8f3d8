package dev.graft.loaders.internal.pickle;

import java.util.List;

/** A Python tuple. */
public record PyTuple(List<Object> items) {
    public PyTuple {
        items = List.copyOf(items);
    }

    public int size() {
        return items.size();
    }

    public Object get(int i) {
        return items.get(i);
    }
}
