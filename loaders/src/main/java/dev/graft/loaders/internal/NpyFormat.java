package dev.graft.loaders.internal;

import dev.graft.engine.GraftException;
import dev.graft.engine.HostTensor;
import dev.graft.engine.Shape;
import dev.graft.loaders.Format;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * {@code .npy} read and write (numpy/lib/format.py, "NEP 1"): the magic {@code \x93NUMPY}, version major/minor,
 * the header length (u16 little-endian for version 1, u32 for 2 and 3), the header dict (latin-1 for 1 and 2,
 * UTF-8 for 3, padded with spaces and ended by a newline so data starts 64-byte aligned), then the data.
 */
public final class NpyFormat {
    static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final int ALIGN = 64;
    /** Header bytes read at most: a rank-64 shape needs about 1,400. */
    static final long MAX_HEADER = 1 << 20;

    private NpyFormat() {
    }

    public static boolean looksLike(byte[] head) {
        if (head.length < MAGIC.length) {
            return false;
        }
        for (int i = 0; i < MAGIC.length; i++) {
            if (head[i] != MAGIC[i]) {
                return false;
            }
        }
        return true;
    }

    public static Contents read(Source src, String name) {
        src.require(0, 10, "npy preamble");
        byte[] pre = src.read(0, 10, "npy preamble");
        if (!looksLike(pre)) {
            throw src.error(0, "missing the \\x93NUMPY magic");
        }
        int major = pre[6] & 0xFF;
        ByteBuffer le = ByteBuffer.wrap(src.read(8, major == 1 ? 2 : 4, "npy header length")).order(ByteOrder.LITTLE_ENDIAN);
        long headerLen;
        long start;
        switch (major) {
            case 1 -> {
                headerLen = le.getShort(0) & 0xFFFF;
                start = 10;
            }
            case 2, 3 -> {
                headerLen = le.getInt(0) & 0xFFFFFFFFL;
                start = 12;
            }
            default -> throw src.error(6, "npy version " + major + "." + (pre[7] & 0xFF) + " is not 1, 2 or 3");
        }
        if (headerLen > MAX_HEADER) {
            throw src.error(8, "npy header length " + headerLen + " is more than the " + MAX_HEADER + " bytes Graft reads"
                    + " (NumPy itself reads at most 10000 unless told otherwise)");
        }
        byte[] headerBytes = src.read(start, headerLen, "npy header");
        String text = new String(headerBytes, major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        Map<String, Object> header = NpyHeader.parse(text, src, start);
        if (!(header.get("descr") instanceof String descr) || !(header.get("fortran_order") instanceof Boolean fortran)
                || !(header.get("shape") instanceof long[] dims)) {
            throw src.error(start, "npy header needs 'descr' (str), 'fortran_order' (bool) and 'shape' (tuple)");
        }
        ElementType type = descr.length() == 3 ? ElementType.ofNpy(descr.substring(1)) : null;
        ByteOrder order = descr.isEmpty() ? null : switch (descr.charAt(0)) {
            case '<' -> ByteOrder.LITTLE_ENDIAN;
            case '>' -> ByteOrder.BIG_ENDIAN;
            case '|', '=' -> ByteOrder.nativeOrder();        // '|': byte order does not apply (1-byte types)
            default -> null;
        };
        if (type == null || order == null || (descr.charAt(0) == '|' && type.bytes() != 1)) {
            throw src.error(start, "npy dtype '" + descr + "' is not supported; supported: f2, f4, f8, i1, i2, i4, i8,"
                    + " u1, b1 in either byte order");
        }
        Shape shape = Shapes.of(src, start, dims, "npy array");
        long dataAt = start + headerLen;
        long bytes = Shapes.bytes(src, dataAt, shape.numel(), type.bytes(), "npy array");
        src.require(dataAt, bytes, "npy data (" + descr + " " + shape + ")");
        long[] strides = fortran ? columnMajor(dims) : Gather.contiguousStrides(shape);
        StoredTensor t = Gather.isContiguous(shape, strides)
                ? new ContiguousTensor(src, name, type, shape, dataAt, order, null)
                : new StridedTensor(src, name, type, shape, dataAt, bytes, order, strides);
        return new Contents(Format.NPY, List.of(t), List.of(), "", Map.of());
    }

    /** Fortran order: the first index varies fastest. */
    private static long[] columnMajor(long[] dims) {
        long[] s = new long[dims.length];
        long acc = 1;
        for (int i = 0; i < dims.length; i++) {
            s[i] = acc;
            acc *= dims[i];
        }
        return s;
    }

    /** Writes version 1.0 (2.0 if the header needs more than 65535 bytes), C order, little-endian. */
    public static void write(Path target, HostTensor t) {
        String unwritable = Shapes.unwritable(t.shape());
        if (unwritable != null) {
            throw new GraftException("cannot write " + target + ": the array cannot be stored: " + unwritable);
        }
        int[] dims = t.shape().dims();
        StringBuilder shape = new StringBuilder("(");
        for (int i = 0; i < dims.length; i++) {
            shape.append(i > 0 ? ", " : "").append(dims[i]);
        }
        shape.append(dims.length == 1 ? ",)" : ")");
        String dict = "{'descr': '<" + ElementType.of(t.dtype()).npyCode() + "', 'fortran_order': False, 'shape': " + shape + ", }";
        int pre = dict.length() + 1 > 0xFFFF - ALIGN ? 12 : 10;
        int total = (pre + dict.length() + 1 + ALIGN - 1) / ALIGN * ALIGN;
        String header = dict + " ".repeat(total - pre - dict.length() - 1) + "\n";
        ByteBuffer head = ByteBuffer.allocate(total).order(ByteOrder.LITTLE_ENDIAN);
        head.put(MAGIC).put((byte) (pre == 10 ? 1 : 2)).put((byte) 0);
        if (pre == 10) {
            head.putShort((short) header.length());
        } else {
            head.putInt(header.length());
        }
        head.put(header.getBytes(StandardCharsets.ISO_8859_1)).flip();
        AtomicFiles.write(target, out -> {
            RawWriter.writeAll(out, head);
            RawWriter.write(out, t);
        });
    }
}
