package dev.graft.loaders.internal.pickle;

import dev.graft.loaders.FormatException;
import dev.graft.loaders.internal.ByteCursor;
import java.math.BigInteger;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A pickle interpreter for data only: the binary opcodes of protocols 2 to 5 (and the few protocol-1 ones they
 * use), with every reference to the outside world (globals, persistent ids, calls) routed through a
 * {@link PickleHandler} allowlist. Nothing is imported or executed; an opcode outside this set, or a global the
 * handler does not allow, is a {@link FormatException} naming it and its byte offset. Opcode meanings follow
 * CPython's {@code Lib/pickle.py} and {@code pickletools.py}.
 *
 * <p>It is iterative (no recursion, so no stack overflow on deep nesting), every length is checked against the
 * bytes that remain before anything is allocated, and dict keys are restricted to scalars so hashing never
 * recurses into cyclic values.
 */
public final class Unpickler {
    private final ByteCursor in;
    private final PickleHandler handler;
    private List<Object> stack = new ArrayList<>();
    private final List<List<Object>> metastack = new ArrayList<>();   // MARK saves the stack here
    private final Map<Long, Object> memo = new HashMap<>();
    private long opOffset;
    private long made;                                               // values pushed or memoized by this pickle

    /**
     * Values one pickle may push or memoize. Each costs tens of bytes however few bytes of pickle made it (one
     * EMPTY_DICT byte is a dict), so without a bound a small, hostile pickle could exhaust the heap; a state dict
     * needs about 20 per tensor, so 2^22 allows 200,000 tensors.
     */
    static final long MAX_VALUES = 1L << 22;

    /** Where an opcode is, for the handler's error messages. */
    public final class Context {
        private final long offset;

        private Context(long offset) {
            this.offset = offset;
        }

        public long offset() {
            return offset;
        }

        public FormatException error(String reason) {
            return in.error(offset, "pickle: " + reason);
        }
    }

    public Unpickler(ByteCursor in, PickleHandler handler) {
        this.in = in;
        this.handler = handler;
    }

    /** Runs one pickle, up to and including its STOP, and returns its value; the cursor stays after STOP. */
    public Object load() {
        stack.clear();
        metastack.clear();
        memo.clear();
        made = 0;
        while (true) {
            opOffset = in.position();
            int op = in.u8("pickle opcode");
            switch (op) {
                case 0x80 -> {                                        // PROTO
                    int version = in.u8("protocol");
                    if (version > 5) {
                        throw fail("protocol " + version + " is newer than 5");
                    }
                }
                case 0x95 -> in.skip(8, "FRAME length");               // FRAME: a framing hint only
                case '.' -> {                                          // STOP
                    Object result = pop();
                    if (!metastack.isEmpty() || !stack.isEmpty()) {
                        throw fail("STOP with " + (stack.size() + metastack.size()) + " items still on the stack");
                    }
                    return result;
                }
                case '(' -> {                                          // MARK
                    count();
                    metastack.add(stack);
                    stack = new ArrayList<>();
                }
                case '0' -> pop();                                     // POP
                case '1' -> popMark();                                 // POP_MARK
                case '2' -> push(peek());                              // DUP
                case 'N' -> push(PyNone.NONE);
                case 0x88 -> push(Boolean.TRUE);                       // NEWTRUE
                case 0x89 -> push(Boolean.FALSE);                      // NEWFALSE
                case 'J' -> push((long) (int) in.le(4, "BININT"));
                case 'K' -> push(in.le(1, "BININT1"));
                case 'M' -> push(in.le(2, "BININT2"));
                case 0x8a -> push(longValue(in.u8("LONG1 length")));   // LONG1
                case 0x8b -> push(longValue(checkedLength(in.le(4, "LONG4 length"))));
                case 'G' -> push(Double.longBitsToDouble(Long.reverseBytes(in.le(8, "BINFLOAT"))));   // big-endian
                case 'X' -> push(utf8(in.le(4, "BINUNICODE length")));
                case 0x8c -> push(utf8(in.u8("SHORT_BINUNICODE length")));
                case 0x8d -> push(utf8(checkedLength(in.le(8, "BINUNICODE8 length"))));
                case 'T' -> push(latin1(checkedLength((int) in.le(4, "BINSTRING length"))));
                case 'U' -> push(latin1(in.u8("SHORT_BINSTRING length")));
                case 'B' -> push(in.bytes(in.le(4, "BINBYTES length"), "BINBYTES"));
                case 'C' -> push(in.bytes(in.u8("SHORT_BINBYTES length"), "SHORT_BINBYTES"));
                case 0x8e -> push(in.bytes(checkedLength(in.le(8, "BINBYTES8 length")), "BINBYTES8"));
                case 0x96 -> push(in.bytes(checkedLength(in.le(8, "BYTEARRAY8 length")), "BYTEARRAY8"));
                case ')' -> push(new PyTuple(List.of()));              // EMPTY_TUPLE
                case 't' -> push(new PyTuple(popMark()));              // TUPLE
                case 0x85 -> push(tuple(1));
                case 0x86 -> push(tuple(2));
                case 0x87 -> push(tuple(3));
                case ']' -> push(new ArrayList<>());                   // EMPTY_LIST
                case 'l' -> push(new ArrayList<>(popMark()));          // LIST
                case 'a' -> {                                          // APPEND
                    Object v = pop();
                    list(peek()).add(v);
                }
                case 'e' -> {                                          // APPENDS
                    List<Object> items = popMark();
                    list(peek()).addAll(items);
                }
                case '}' -> push(new PyDict(false));                   // EMPTY_DICT
                case 'd' -> {                                          // DICT
                    PyDict d = new PyDict(false);
                    putAll(d, popMark());
                    push(d);
                }
                case 's' -> {                                          // SETITEM
                    Object v = pop();
                    Object k = pop();
                    put(dict(peek()), k, v);
                }
                case 'u' -> {                                          // SETITEMS
                    List<Object> items = popMark();
                    putAll(dict(peek()), items);
                }
                case 0x8f -> push(new PySet(new ArrayList<>(), false)); // EMPTY_SET
                case 0x90 -> {                                         // ADDITEMS
                    List<Object> items = popMark();
                    if (!(peek() instanceof PySet s) || s.frozen()) {
                        throw fail("ADDITEMS on a " + Describe.type(peek()));
                    }
                    s.items().addAll(items);
                }
                case 0x91 -> push(new PySet(new ArrayList<>(popMark()), true));   // FROZENSET
                case 'c' -> push(global(line("GLOBAL module"), line("GLOBAL name")));
                case 0x93 -> {                                         // STACK_GLOBAL
                    Object name = pop();
                    Object module = pop();
                    if (!(module instanceof String m) || !(name instanceof String n)) {
                        throw fail("STACK_GLOBAL needs two strings, got " + Describe.type(module) + " and " + Describe.type(name));
                    }
                    push(global(m, n));
                }
                case 'R' -> {                                          // REDUCE
                    Object args = pop();
                    push(call(pop(), args));
                }
                case 0x81 -> {                                         // NEWOBJ: cls.__new__(cls, *args)
                    Object args = pop();
                    push(call(pop(), args));
                }
                case 0x92 -> {                                         // NEWOBJ_EX
                    Object kwargs = pop();
                    Object args = pop();
                    Object cls = pop();
                    if (!(kwargs instanceof PyDict k) || !k.items().isEmpty()) {
                        throw fail("NEWOBJ_EX with keyword arguments is not supported");
                    }
                    push(call(cls, args));
                }
                case 'b' -> {                                          // BUILD
                    Object state = pop();
                    Object target = pop();
                    push(build(target, state));
                }
                case 'Q' -> push(handler.persistentLoad(pop(), new Context(opOffset)));   // BINPERSID
                case 'h' -> push(memoGet(in.le(1, "BINGET index")));
                case 'j' -> push(memoGet(in.le(4, "LONG_BINGET index")));
                case 'q' -> memoize(in.le(1, "BINPUT index"), peek());
                case 'r' -> memoize(in.le(4, "LONG_BINPUT index"), peek());
                case 0x94 -> memoize(memo.size(), peek());             // MEMOIZE
                default -> throw fail("opcode " + opcodeName(op) + " is not allowed (only the binary data opcodes of"
                        + " protocols 2-5 are); the file may be corrupt or not a state dict");
            }
        }
    }

    private FormatException fail(String reason) {
        return in.error(opOffset, "pickle: " + reason);
    }

    private void push(Object v) {
        count();
        stack.add(v);
    }

    private void memoize(long index, Object v) {
        count();
        memo.put(index, v);
    }

    private void count() {
        if (++made > MAX_VALUES) {
            throw fail("the pickle makes more than " + MAX_VALUES + " values; no state dict needs that many (the file"
                    + " is corrupt or not a checkpoint)");
        }
    }

    private Object pop() {
        if (stack.isEmpty()) {
            throw fail("stack underflow");
        }
        return stack.remove(stack.size() - 1);
    }

    private Object peek() {
        if (stack.isEmpty()) {
            throw fail("stack underflow");
        }
        return stack.get(stack.size() - 1);
    }

    /** The items pushed since the last MARK; the stack below the mark comes back. */
    private List<Object> popMark() {
        if (metastack.isEmpty()) {
            throw fail("no MARK to pop to");
        }
        List<Object> items = stack;
        stack = metastack.remove(metastack.size() - 1);
        return items;
    }

    private PyTuple tuple(int n) {
        if (stack.size() < n) {
            throw fail("stack underflow");
        }
        List<Object> top = stack.subList(stack.size() - n, stack.size());
        PyTuple t = new PyTuple(top);
        top.clear();
        return t;
    }

    @SuppressWarnings("unchecked")
    private List<Object> list(Object target) {
        if (target instanceof List<?> l) {
            return (List<Object>) l;
        }
        throw fail("APPEND to a " + Describe.type(target) + ", not a list");
    }

    private PyDict dict(Object target) {
        if (target instanceof PyDict d) {
            return d;
        }
        throw fail("SETITEM on a " + Describe.type(target) + ", not a dict");
    }

    private void putAll(PyDict d, List<Object> items) {
        if (items.size() % 2 != 0) {
            throw fail("odd number of items for a dict");
        }
        for (int i = 0; i < items.size(); i += 2) {
            put(d, items.get(i), items.get(i + 1));
        }
    }

    /** Only scalar keys: state dicts use str, optimizer state int; containers as keys could hash cyclically. */
    private void put(PyDict d, Object key, Object value) {
        if (!(key instanceof String || key instanceof Long || key instanceof BigInteger || key instanceof Boolean
                || key instanceof Double || key instanceof PyNone)) {
            throw fail("dict key of type " + Describe.type(key) + " is not supported");
        }
        d.items().put(key, value);
    }

    private Object memoGet(long index) {
        Object v = memo.get(index);
        if (v == null) {
            throw fail("memo index " + index + " was never stored");
        }
        return v;
    }

    private PyGlobal global(String module, String name) {
        if (!handler.allows(module, name)) {
            throw fail("global '" + module + "." + name + "' is not allowed: only tensors, storages and ordered dicts"
                    + " can be loaded (nothing in the file is ever executed)");
        }
        return new PyGlobal(module, name);
    }

    private Object call(Object callable, Object args) {
        if (!(callable instanceof PyGlobal g)) {
            throw fail("cannot call a " + Describe.type(callable));
        }
        if (!(args instanceof PyTuple t)) {
            throw fail("arguments to " + g + " must be a tuple, got " + Describe.type(args));
        }
        return handler.call(g, t, new Context(opOffset));
    }

    private Object build(Object target, Object state) {
        if (target instanceof PyDict d && state instanceof PyDict s) {
            for (Map.Entry<Object, Object> e : s.items().entrySet()) {
                if (!(e.getKey() instanceof String k)) {
                    throw fail("BUILD state key of type " + Describe.type(e.getKey()));
                }
                d.attributes().put(k, e.getValue());
            }
            return d;
        }
        return handler.build(target, state, new Context(opOffset));
    }

    private long checkedLength(long n) {
        if (n < 0 || n > in.remaining()) {
            throw fail("length " + Long.toUnsignedString(n) + " exceeds the " + in.remaining() + " bytes that remain");
        }
        return n;
    }

    /** LONG1/LONG4: little-endian two's complement of n bytes. */
    private Object longValue(long n) {
        byte[] le = in.bytes(n, "LONG");
        if (n == 0) {
            return 0L;
        }
        byte[] be = new byte[le.length];
        for (int i = 0; i < le.length; i++) {
            be[i] = le[le.length - 1 - i];
        }
        BigInteger v = new BigInteger(be);
        return v.bitLength() < 64 ? (Object) v.longValue() : v;
    }

    private String utf8(long n) {
        byte[] b = in.bytes(n, "string");
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .decode(java.nio.ByteBuffer.wrap(b)).toString();
        } catch (CharacterCodingException e) {
            throw fail("string is not valid UTF-8");
        }
    }

    private String latin1(long n) {
        return new String(in.bytes(n, "string"), StandardCharsets.ISO_8859_1);
    }

    /** A newline-terminated ASCII line (GLOBAL's operands), at most 256 bytes. */
    private String line(String what) {
        StringBuilder sb = new StringBuilder();
        while (true) {
            int c = in.u8(what);
            if (c == '\n') {
                return sb.toString();
            }
            if (sb.length() >= 256 || c < 0x20 || c > 0x7E) {
                throw fail(what + " is not a short printable line");
            }
            sb.append((char) c);
        }
    }

    private static String opcodeName(int op) {
        String[][] known = {{"I", "INT"}, {"L", "LONG"}, {"F", "FLOAT"}, {"S", "STRING"}, {"V", "UNICODE"},
            {"P", "PERSID"}, {"g", "GET"}, {"p", "PUT"}, {"i", "INST"}, {"o", "OBJ"}};
        for (String[] k : known) {
            if (k[0].charAt(0) == op) {
                return "'" + k[0] + "' (" + k[1] + ", protocol 0)";
            }
        }
        return switch (op) {
            case 0x82, 0x83, 0x84 -> String.format("0x%02x (EXT, copyreg extension registry)", op);
            case 0x97 -> "0x97 (NEXT_BUFFER, out-of-band data)";
            case 0x98 -> "0x98 (READONLY_BUFFER)";
            default -> String.format("0x%02x", op) + (op >= 0x20 && op < 0x7F ? " ('" + (char) op + "')" : "");
        };
    }
}
