package dev.graft.loaders.internal.pickle;

import java.math.BigInteger;
import java.util.List;

/** Short, non-recursive descriptions of unpickled values for messages (values may be cyclic). */
public final class Describe {
    private Describe() {
    }

    public static String type(Object v) {
        if (v instanceof String) {
            return "str";
        } else if (v instanceof Long || v instanceof BigInteger) {
            return "int";
        } else if (v instanceof Double) {
            return "float";
        } else if (v instanceof Boolean) {
            return "bool";
        } else if (v instanceof PyNone) {
            return "None";
        } else if (v instanceof byte[]) {
            return "bytes";
        } else if (v instanceof PyTuple t) {
            return "tuple of " + t.size();
        } else if (v instanceof List<?> l) {
            return "list of " + l.size();
        } else if (v instanceof PyDict d) {
            return (d.ordered() ? "OrderedDict" : "dict") + " of " + d.items().size();
        } else if (v instanceof PySet s) {
            return (s.frozen() ? "frozenset" : "set") + " of " + s.items().size();
        } else if (v instanceof PyGlobal g) {
            return "global " + g.qualified();
        }
        return v.getClass().getSimpleName();
    }

    /** A value for a message: scalars as Python would print them, containers by type. */
    public static String value(Object v) {
        if (v instanceof String s) {
            return "'" + (s.length() > 60 ? s.substring(0, 60) + "..." : s) + "'";
        } else if (v instanceof Long || v instanceof BigInteger || v instanceof Double || v instanceof Boolean || v instanceof PyNone) {
            return v instanceof Boolean b ? (b ? "True" : "False") : v instanceof PyNone ? "None" : v.toString();
        }
        return type(v);
    }
}
