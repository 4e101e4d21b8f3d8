package dev.graft.loaders.internal.pickle;

/**
 * What a pickle may refer to outside itself: the allowed globals, what calling them means, persistent ids
 * (storages) and BUILD on handler-made objects. The {@link Unpickler} consults it and nothing else, so the set
 * of things a file can make is exactly what one implementation of this interface allows.
 */
public interface PickleHandler {
    /** Whether {@code module.name} may appear at all; anything else fails at its GLOBAL opcode. */
    boolean allows(String module, String name);

    /** REDUCE / NEWOBJ on an allowed global. */
    Object call(PyGlobal callable, PyTuple args, Unpickler.Context at);

    /** BINPERSID. */
    Object persistentLoad(Object pid, Unpickler.Context at);

    /** BUILD on an object the unpickler itself does not handle (it handles dicts with dict state). */
    default Object build(Object target, Object state, Unpickler.Context at) {
        throw at.error("BUILD (setstate) on a " + Describe.type(target) + " is not supported");
    }
}
