package dev.graft.loaders.internal;

import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The regular-file members of a tar archive (POSIX ustar, as Python's tarfile writes; pax extended headers are
 * skipped, not applied). Members are located, not read: {@code size} bytes at {@code dataOffset}. Layout: 512-byte
 * headers with the name at 0, the size in octal at 124, the checksum at 148, the type flag at 156, "ustar" at
 * 257 and a name prefix at 345; data padded to 512 bytes; two zero blocks at the end.
 */
public final class TarArchive {
    private static final int BLOCK = 512;

    /** A member: {@code size} bytes at {@code dataOffset}. */
    public record Member(String name, long dataOffset, long size) {
    }

    private final Map<String, Member> members;

    private TarArchive(Map<String, Member> members) {
        this.members = members;
    }

    public Map<String, Member> members() {
        return Collections.unmodifiableMap(members);
    }

    public static TarArchive read(Source src) {
        Map<String, Member> members = new LinkedHashMap<>();
        long at = 0;
        while (at + BLOCK <= src.size()) {
            byte[] h = src.read(at, BLOCK, "tar header");
            if (allZero(h)) {
                break;
            }
            long checksum = octal(src, h, 148, 8, at);
            long sum = 0;
            for (int i = 0; i < BLOCK; i++) {
                sum += (i >= 148 && i < 156) ? ' ' : h[i] & 0xFF;
            }
            if (sum != checksum) {
                throw src.error(at, "tar header checksum mismatch (corrupt or not a tar file)");
            }
            long size = octal(src, h, 124, 12, at);
            long data = at + BLOCK;
            src.require(data, size, "tar member");
            char type = (char) h[156];
            if (type == '0' || type == '\0') {
                String name = text(h, 345, 155);
                name = (name.isEmpty() ? "" : name + "/") + text(h, 0, 100);
                members.put(name, new Member(name, data, size));
            }
            at = data + (size + BLOCK - 1) / BLOCK * BLOCK;
        }
        return new TarArchive(members);
    }

    private static boolean allZero(byte[] h) {
        for (byte b : h) {
            if (b != 0) {
                return false;
            }
        }
        return true;
    }

    private static String text(byte[] h, int from, int len) {
        int end = from;
        while (end < from + len && h[end] != 0) {
            end++;
        }
        return new String(h, from, end - from, StandardCharsets.UTF_8);
    }

    /** A NUL- or space-terminated octal field (the base-256 form for huge sizes is not supported). */
    private static long octal(Source src, byte[] h, int from, int len, long at) {
        long v = 0;
        int i = from;
        while (i < from + len && h[i] == ' ') {
            i++;
        }
        for (; i < from + len && h[i] != 0 && h[i] != ' '; i++) {
            if (h[i] < '0' || h[i] > '7' || v > (Long.MAX_VALUE >> 3)) {
                throw src.error(at + from, "tar header field is not an octal number");
            }
            v = v * 8 + (h[i] - '0');
        }
        return v;
    }
}
