package dev.graft.loaders.internal.pickle;

import java.util.List;

/** A Python set or frozenset, kept as its items (never used as a key). */
public record PySet(List<Object> items, boolean frozen) {
}
