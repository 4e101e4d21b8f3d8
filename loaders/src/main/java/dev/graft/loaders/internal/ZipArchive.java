package dev.graft.loaders.internal;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The entries of a zip file, read from its central directory (ZIP64 included), for archives whose records are
 * stored uncompressed, as {@code torch.save} and {@code np.savez} write them. Each entry is located, not read:
 * its data is {@code size} bytes at {@code dataOffset}, checked to lie inside the file. Layout: PKWARE
 * APPNOTE.TXT sections 4.3.7 (local header), 4.3.12 (central directory), 4.3.14-16 (ZIP64 and end records).
 */
public final class ZipArchive {
    private static final int EOCD = 0x06054b50;
    private static final int ZIP64_LOCATOR = 0x07064b50;
    private static final int ZIP64_EOCD = 0x06064b50;
    private static final int CENTRAL = 0x02014b50;
    private static final int LOCAL = 0x04034b50;
    private static final long U32 = 0xFFFFFFFFL;
    /** The central directory is read whole; 64 MiB holds every entry of any real checkpoint. */
    static final long MAX_CENTRAL_DIRECTORY = 64L << 20;

    /** A stored entry: {@code size} bytes at {@code dataOffset}. */
    public record Entry(String name, long dataOffset, long size) {
    }

    private final LinkedHashMap<String, Entry> entries;

    private ZipArchive(LinkedHashMap<String, Entry> entries) {
        this.entries = entries;
    }

    /** Entries in central-directory order. */
    public Map<String, Entry> entries() {
        return Collections.unmodifiableMap(entries);
    }

    public static ZipArchive read(Source src) {
        long size = src.size();
        if (size < 22) {
            throw src.error(0, "zip file too short for an end-of-central-directory record");
        }
        int tailLen = (int) Math.min(size, 22 + 0xFFFF);
        long tailStart = size - tailLen;
        ByteBuffer tail = le(src.read(tailStart, tailLen, "zip end record"));
        int at = -1;
        for (int i = tailLen - 22; i >= 0; i--) {
            if (tail.getInt(i) == EOCD) {
                at = i;
                break;
            }
        }
        if (at < 0) {
            throw src.error(size, "no zip end-of-central-directory record (truncated zip?)");
        }
        long eocd = tailStart + at;
        long count = tail.getShort(at + 10) & 0xFFFF;
        long cdSize = tail.getInt(at + 12) & U32;
        long cdOffset = tail.getInt(at + 16) & U32;
        if (count == 0xFFFF || cdSize == U32 || cdOffset == U32) {
            if (eocd < 20) {
                throw src.error(eocd, "ZIP64 values without a ZIP64 locator");
            }
            ByteBuffer loc = le(src.read(eocd - 20, 20, "ZIP64 locator"));
            if (loc.getInt(0) != ZIP64_LOCATOR) {
                throw src.error(eocd - 20, "ZIP64 values without a ZIP64 locator");
            }
            long recAt = loc.getLong(8);
            ByteBuffer rec = le(src.read(recAt, 56, "ZIP64 end record"));
            if (rec.getInt(0) != ZIP64_EOCD) {
                throw src.error(recAt, "bad ZIP64 end-of-central-directory signature");
            }
            count = rec.getLong(32);
            cdSize = rec.getLong(40);
            cdOffset = rec.getLong(48);
        }
        src.require(cdOffset, cdSize, "zip central directory");
        if (cdSize > MAX_CENTRAL_DIRECTORY) {
            throw src.error(eocd, "zip central directory of " + cdSize + " bytes is larger than the " + MAX_CENTRAL_DIRECTORY
                    + " Graft reads (about 800,000 entries; torch.save writes one per storage)");
        }
        if (count < 0 || count > cdSize / 46) {
            throw src.error(eocd, "zip claims " + count + " entries in a " + cdSize + "-byte central directory");
        }
        ByteBuffer cd = le(src.read(cdOffset, cdSize, "zip central directory"));
        LinkedHashMap<String, Entry> entries = new LinkedHashMap<>();
        int p = 0;
        for (long i = 0; i < count; i++) {
            Entry e = entry(src, cd, p, cdOffset);
            if (entries.put(e.name(), e) != null) {
                throw src.error(cdOffset + p, "zip has two entries named '" + e.name() + "'");
            }
            p += 46 + (cd.getShort(p + 28) & 0xFFFF) + (cd.getShort(p + 30) & 0xFFFF) + (cd.getShort(p + 32) & 0xFFFF);
        }
        return new ZipArchive(entries);
    }

    private static Entry entry(Source src, ByteBuffer cd, int p, long cdOffset) {
        long at = cdOffset + p;
        if (p + 46 > cd.limit() || cd.getInt(p) != CENTRAL) {
            throw src.error(at, "bad zip central directory entry");
        }
        int flags = cd.getShort(p + 8) & 0xFFFF;
        int method = cd.getShort(p + 10) & 0xFFFF;
        long csize = cd.getInt(p + 20) & U32;
        long usize = cd.getInt(p + 24) & U32;
        int nameLen = cd.getShort(p + 28) & 0xFFFF;
        int extraLen = cd.getShort(p + 30) & 0xFFFF;
        long local = cd.getInt(p + 42) & U32;
        if (p + 46 + nameLen + extraLen > cd.limit()) {
            throw src.error(at, "zip central directory entry runs past the directory");
        }
        byte[] nameBytes = new byte[nameLen];
        cd.get(p + 46, nameBytes);
        String name = new String(nameBytes, StandardCharsets.UTF_8);
        // ZIP64 extended information (header id 1): the 64-bit values of the fields that hold 0xFFFFFFFF, in order
        for (int x = p + 46 + nameLen; x + 4 <= p + 46 + nameLen + extraLen; ) {
            int id = cd.getShort(x) & 0xFFFF;
            int len = cd.getShort(x + 2) & 0xFFFF;
            int v = x + 4;
            int end = Math.min(v + len, p + 46 + nameLen + extraLen);
            if (id == 1) {
                if (usize == U32 && v + 8 <= end) {
                    usize = cd.getLong(v);
                    v += 8;
                }
                if (csize == U32 && v + 8 <= end) {
                    csize = cd.getLong(v);
                    v += 8;
                }
                if (local == U32 && v + 8 <= end) {
                    local = cd.getLong(v);
                }
            }
            x += 4 + len;
        }
        if ((flags & 1) != 0) {
            throw src.error(at, "zip entry '" + name + "' is encrypted");
        }
        if (method != 0) {
            throw src.error(at, "zip entry '" + name + "' is compressed (method " + method + "); only stored entries are"
                    + " supported, as torch.save writes them");
        }
        if (csize != usize) {
            throw src.error(at, "stored zip entry '" + name + "' has different compressed and uncompressed sizes");
        }
        ByteBuffer lh = le(src.read(local, 30, "zip local header of '" + name + "'"));
        if (lh.getInt(0) != LOCAL) {
            throw src.error(local, "bad zip local header signature for '" + name + "'");
        }
        long dataOffset = local + 30 + (lh.getShort(26) & 0xFFFF) + (lh.getShort(28) & 0xFFFF);
        src.require(dataOffset, usize, "zip entry '" + name + "'");
        return new Entry(name, dataOffset, usize);
    }

    private static ByteBuffer le(byte[] b) {
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
    }
}
