package dev.graft.loaders.internal.pickle;

/** Python's None (a value, so that stacks and maps never hold Java null). */
public enum PyNone {
    NONE
}
