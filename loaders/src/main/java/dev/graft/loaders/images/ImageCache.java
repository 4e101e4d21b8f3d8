package dev.graft.loaders.images;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.zip.CRC32;

/**
 * Decodes each image file once per working resolution and keeps the result, so that epochs after the first decode
 * nothing; the (random) transform then runs on the kept image every time, so augmentation still differs per epoch.
 *
 * <p><b>Working resolution.</b> An image is kept as the decoder would give it to the transform, then, when its shorter
 * side is larger than the transform's {@link Transform#inputSideNeeded()} S, resized (antialiased bilinear, as
 * {@link Transform#resize(int)}) so that its shorter side is S. For {@code Resize(S) -> CenterCrop} (evaluation, and
 * training without augmentation) that resize is the pipeline's own first step, so the result is the one without the
 * cache. For {@code RandomResizedCrop(size, scale=(smin, 1))} S is the shorter side at which the smallest crop the
 * transform can draw still has {@code size} pixels (299 for 224 at 0.75), so crops are drawn on an image already
 * reduced to S rather than on the full decode, as fastai's presizing does: the crop's position and shape have the
 * same distribution (relative to the image), and what changes is that each crop is resampled twice (decode to S,
 * crop to size) instead of once, which blurs slightly more. {@code ImageCacheTest} measures how much.
 *
 * <p><b>Storage.</b> Values are kept as 16-bit fractions (round(v * 65535)): a PNG, JPEG or BMP value (k/255 or
 * k/65535) comes back exactly, so such an image no larger than S is bit for bit the uncached one; a resized value, or a
 * DICOM value after rescale and window, comes back within 0.5/65535. A grayscale image (three equal channels) keeps one plane.
 * {@link Mode#MEMORY} keeps entries on the heap up to a byte budget; {@link Mode#DISK} writes each to a file in the
 * cache folder named by a hash of (S, pixel limit, absolute path), holding that key, the source's size and modification time and a CRC-32
 * (written to a temporary file and moved into place, so a reader never sees half an entry); {@link Mode#AUTO} keeps
 * entries in memory until the budget is full and the rest on disk. Every lookup compares the file's current size and
 * modification time with the entry's: a changed file is decoded again. A disk entry that is damaged (truncated, bad
 * CRC, wrong header) is reported once and rebuilt. The pixels a transform sees do not depend on where an entry lives,
 * or on whether it fitted: an image that finds no room is prepared the same way and decoded again next time.
 *
 * <p>Images whose decode produced a warning (read with {@code --lenient} though damaged) are never kept, so a later
 * strict run cannot take them from the cache. Safe for concurrent use by the loader's worker threads.
 */
public final class ImageCache {

    /** Where decoded images are kept; {@code OFF} means no cache at all (the pipeline decodes every time). */
    public enum Mode {
        OFF, MEMORY, DISK, AUTO;

        /** {@code auto}, {@code memory}, {@code disk} or {@code off} (any case). */
        public static Mode parse(String text) {
            for (Mode m : values()) {
                if (m.name().equalsIgnoreCase(text.trim())) {
                    return m;
                }
            }
            throw new DatasetException("unknown image cache mode '" + text + "': use auto, memory, disk or off");
        }
    }

    /** Decodes a file for a transform; {@link ImageDecoder#read(Path, Transform, ImageDecoder.Options, Consumer)} outside tests. */
    @FunctionalInterface
    interface Decoder {
        FloatImage read(Path file, Transform next, ImageDecoder.Options options, Consumer<String> warnings);
    }

    /** The share of the maximum heap that {@link #defaultMemoryBudget()} gives the cache. */
    public static final double DEFAULT_HEAP_FRACTION = 0.4;
    /** Bytes a memory entry costs beyond its pixels (object headers, the map's node, the key). */
    static final long ENTRY_OVERHEAD = 256;
    private static final byte[] MAGIC = "GRAFTIC1".getBytes(StandardCharsets.US_ASCII);
    private static final int VERSION = 1;

    private final Mode mode;
    private final long budget;
    private final Path dir;
    private final Consumer<String> warnings;
    private final Decoder decoder;
    private final ConcurrentHashMap<String, Entry> memory = new ConcurrentHashMap<>();
    private final AtomicLong used = new AtomicLong();
    private final AtomicLong decodes = new AtomicLong();
    private final AtomicLong memoryHits = new AtomicLong();
    private final AtomicLong diskHits = new AtomicLong();
    private final AtomicLong diskWrites = new AtomicLong();
    private final AtomicLong rebuilt = new AtomicLong();
    private final AtomicBoolean memoryFullWarned = new AtomicBoolean();
    private final AtomicBoolean diskBroken = new AtomicBoolean();
    private final Set<String> damagedWarned = ConcurrentHashMap.newKeySet();

    /**
     * A cache in {@code mode} ({@link Mode#OFF} is refused: use no cache), holding up to {@code memoryBudget} bytes
     * on the heap (MEMORY, AUTO) and writing entries under {@code dir} (DISK, AUTO; created when first needed).
     * {@code warnings} receives the one-off notes: a full memory budget (MEMORY), a disk that refuses writes, a damaged entry.
     */
    public ImageCache(Mode mode, long memoryBudget, Path dir, Consumer<String> warnings) {
        this(mode, memoryBudget, dir, warnings, ImageDecoder::read);
    }

    ImageCache(Mode mode, long memoryBudget, Path dir, Consumer<String> warnings, Decoder decoder) {
        if (mode == Mode.OFF) {
            throw new DatasetException("an image cache with mode off: use no cache instead");
        }
        if (memoryBudget < 0) {
            throw new DatasetException("the image cache's memory budget must be >= 0 bytes, got " + memoryBudget);
        }
        if (mode != Mode.MEMORY && dir == null) {
            throw new DatasetException("the image cache mode " + mode.name().toLowerCase(Locale.ROOT) + " needs a cache folder");
        }
        this.mode = mode;
        this.budget = mode == Mode.DISK ? 0 : memoryBudget;
        this.dir = dir == null ? null : dir.toAbsolutePath().normalize();
        this.warnings = warnings;
        this.decoder = decoder;
    }

    /** {@link #DEFAULT_HEAP_FRACTION} of the JVM's maximum heap ({@code -Xmx}). */
    public static long defaultMemoryBudget() {
        return (long) (Runtime.getRuntime().maxMemory() * DEFAULT_HEAP_FRACTION);
    }

    /**
     * Parses a memory budget: bytes with an optional k, m, g suffix (powers of 1024: {@code 512m}, {@code 2g}), or a
     * share of the maximum heap ({@code 40%}).
     */
    public static long parseBudget(String text) {
        String t = text.trim().toLowerCase(Locale.ROOT);
        try {
            if (t.endsWith("%")) {
                double pct = Double.parseDouble(t.substring(0, t.length() - 1));
                if (!(pct >= 0 && pct <= 100)) {
                    throw new DatasetException("an image cache budget in percent must be between 0% and 100% of the heap, got " + text);
                }
                return (long) (Runtime.getRuntime().maxMemory() * pct / 100);
            }
            long unit = 1;
            char last = t.isEmpty() ? ' ' : t.charAt(t.length() - 1);
            if (last == 'k' || last == 'm' || last == 'g') {
                unit = last == 'k' ? 1L << 10 : last == 'm' ? 1L << 20 : 1L << 30;
                t = t.substring(0, t.length() - 1);
            }
            double v = Double.parseDouble(t);
            if (!(v >= 0) || v * unit > Long.MAX_VALUE / 2) {
                throw new DatasetException("an image cache budget must be a size >= 0, got " + text);
            }
            return (long) (v * unit);
        } catch (NumberFormatException e) {
            throw new DatasetException("an image cache budget is a size such as 512m or 2g, or a share of the heap such as 40%; got '"
                    + text + "'");
        }
    }

    public Mode mode() {
        return mode;
    }

    public long memoryBudget() {
        return budget;
    }

    public Path dir() {
        return dir;
    }

    /** One line for the terminal: the mode, the budget and the folder. */
    public String describe() {
        long heap = Runtime.getRuntime().maxMemory();
        String mem = String.format(Locale.ROOT, "in memory up to %,d MiB (%.0f%% of the %,d MiB heap)", budget >> 20, 100.0 * budget / heap,
                heap >> 20);
        return "image cache: " + switch (mode) {
            case MEMORY -> mem + "; images beyond that are decoded every epoch";
            case DISK -> "on disk in " + dir;
            case AUTO -> mem + ", the rest on disk in " + dir;
            case OFF -> "off";
        } + " (--cache, --cache-memory, --cache-dir)";
    }

    /** What the cache did so far. */
    public record Stats(long decodes, long memoryHits, long diskHits, long diskWrites, long rebuilt, long memoryBytes, int memoryEntries) {
    }

    public Stats stats() {
        return new Stats(decodes.get(), memoryHits.get(), diskHits.get(), diskWrites.get(), rebuilt.get(), used.get(), memory.size());
    }

    /**
     * The image {@code file} at the working resolution of {@code transform} (see the class comment), from the cache
     * when an entry for the file's current size and modification time is there, else decoded (and kept where there
     * is room). Failures are {@link DatasetException}s naming the file, as {@link ImageDecoder#read} gives them.
     */
    public FloatImage get(Path file, Transform transform, ImageDecoder.Options options, Consumer<String> decodeWarnings) {
        BasicFileAttributes attrs;
        try {
            attrs = Files.readAttributes(file, BasicFileAttributes.class);
        } catch (IOException e) {
            // Missing, unreadable, ...: the decoder says so in its own words.
            return decodeOnly(file, transform, options, decodeWarnings);
        }
        if (!attrs.isRegularFile()) {
            return decodeOnly(file, transform, options, decodeWarnings);
        }
        int side = Math.max(0, transform.inputSideNeeded());
        String path = file.toAbsolutePath().normalize().toString();
        long size = attrs.size();
        long mtime = attrs.lastModifiedTime().to(TimeUnit.NANOSECONDS);
        // The pixel limit is part of the key: a run with a lower limit must refuse what an earlier run decoded.
        String key = side + "|" + options.maxPixels() + "|" + path;

        if (mode != Mode.DISK) {
            Entry e = memory.get(key);
            if (e != null) {
                if (e.size == size && e.mtime == mtime) {
                    memoryHits.incrementAndGet();
                    return e.image();
                }
                if (memory.remove(key, e)) {
                    used.addAndGet(-e.bytes());
                }
            }
        }
        Path entryFile = mode == Mode.MEMORY ? null : entryFile(key);
        if (entryFile != null && !diskBroken.get()) {
            Entry e = readEntry(entryFile, key, size, mtime, file);
            if (e != null) {
                diskHits.incrementAndGet();
                return e.image();
            }
        }

        AtomicBoolean warned = new AtomicBoolean();
        FloatImage decoded = decoder.read(file, transform, options, w -> {
            warned.set(true);
            decodeWarnings.accept(w);
        });
        decodes.incrementAndGet();
        Entry e = Entry.of(presize(decoded, side), size, mtime);
        if (warned.get()) {
            return e.image(); // damaged and read leniently: never kept (see the class comment)
        }
        if (mode != Mode.DISK && reserve(e.bytes())) {
            if (memory.putIfAbsent(key, e) != null) {
                used.addAndGet(-e.bytes());
            }
        } else if (entryFile != null) {
            writeEntry(entryFile, key, e);
        } else if (memoryFullWarned.compareAndSet(false, true)) {
            warnings.accept(String.format(Locale.ROOT, "the image cache's memory budget (%,d MiB) is full after %,d images; the others "
                    + "are decoded every epoch (--cache auto puts them on disk; --cache-memory or more heap, GRAFT_JAVA_OPTS=-Xmx..., "
                    + "gives it more room)", budget >> 20, memory.size()));
        }
        return e.image();
    }

    /** A file that cannot be keyed (missing, not a regular file, unreadable attributes): decoded, so the decoder says why. */
    private FloatImage decodeOnly(Path file, Transform transform, ImageDecoder.Options options, Consumer<String> w) {
        FloatImage img = decoder.read(file, transform, options, w);
        decodes.incrementAndGet();
        return img;
    }

    /** Shorter side reduced to {@code side} (when larger, and {@code side} > 0), as {@link Transform#resize(int)} does. */
    static FloatImage presize(FloatImage img, int side) {
        if (side <= 0 || Math.min(img.height(), img.width()) <= side) {
            return img;
        }
        try {
            return Transform.resize(side).apply(img, null);
        } catch (DatasetException tooElongated) {
            return img; // the transform meets the same refusal, or copes, on the image as decoded
        }
    }

    private boolean reserve(long bytes) {
        while (true) {
            long u = used.get();
            if (u + bytes > budget) {
                return false;
            }
            if (used.compareAndSet(u, u + bytes)) {
                return true;
            }
        }
    }

    // ---- disk entries ---------------------------------------------------------------------------------------

    private Path entryFile(String key) {
        try {
            byte[] h = MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8));
            String hex = HexFormat.of().formatHex(h, 0, 16);
            return dir.resolve(hex.substring(0, 2)).resolve(hex + ".gic");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }

    /**
     * The entry in {@code f} when it is whole and for this file's current size and time; null when there is none, it
     * is stale (silently: the file changed) or it is damaged (then reported once and counted).
     */
    private Entry readEntry(Path f, String key, long size, long mtime, Path file) {
        if (!Files.exists(f)) {
            return null;
        }
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(f);
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException | OutOfMemoryError e) {
            damaged(f, file, "cannot read it: " + e.getMessage());
            return null;
        }
        try {
            ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
            if (bytes.length < MAGIC.length + 8) {
                throw new IllegalArgumentException("it is " + bytes.length + " bytes long");
            }
            CRC32 crc = new CRC32();
            crc.update(bytes, 0, bytes.length - 8);
            if (b.getLong(bytes.length - 8) != crc.getValue()) {
                throw new IllegalArgumentException("its checksum does not match");
            }
            byte[] magic = new byte[MAGIC.length];
            b.get(magic);
            if (!java.util.Arrays.equals(magic, MAGIC) || b.getInt() != VERSION) {
                throw new IllegalArgumentException("it is not a version " + VERSION + " Graft image cache entry");
            }
            long storedSize = b.getLong();
            long storedTime = b.getLong();
            int pathLength = b.getInt();
            if (pathLength < 0 || pathLength > b.remaining()) {
                throw new IllegalArgumentException("its header is damaged");
            }
            byte[] p = new byte[pathLength];
            b.get(p);
            if (!new String(p, StandardCharsets.UTF_8).equals(key)) {
                return null; // another file's entry under the same hash: rebuilt for this one
            }
            if (storedSize != size || storedTime != mtime) {
                return null; // stale: the file changed since
            }
            int c = b.getInt(), h = b.getInt(), w = b.getInt();
            if ((c != 1 && c != 3) || h < 1 || w < 1 || (long) c * h * w * 2 != b.remaining() - 8) {
                throw new IllegalArgumentException("its size fields do not match its length");
            }
            short[] data = new short[c * h * w];
            b.asShortBuffer().get(data);
            return new Entry(c, h, w, data, size, mtime);
        } catch (RuntimeException e) {
            damaged(f, file, e.getMessage());
            return null;
        }
    }

    private void damaged(Path entry, Path file, String why) {
        rebuilt.incrementAndGet();
        if (damagedWarned.add(entry.toString())) {
            warnings.accept("image cache entry " + entry + " for " + file + " is damaged (" + why + "); decoding the image again and "
                    + "rewriting it");
        }
    }

    private void writeEntry(Path f, String key, Entry e) {
        if (diskBroken.get()) {
            return;
        }
        byte[] p = key.getBytes(StandardCharsets.UTF_8);
        int length = MAGIC.length + 4 + 8 + 8 + 4 + p.length + 12 + e.data.length * 2 + 8;
        ByteBuffer b = ByteBuffer.allocate(length).order(ByteOrder.LITTLE_ENDIAN);
        b.put(MAGIC).putInt(VERSION).putLong(e.size).putLong(e.mtime).putInt(p.length).put(p);
        b.putInt(e.channels).putInt(e.height).putInt(e.width);
        b.asShortBuffer().put(e.data);
        b.position(b.position() + e.data.length * 2);
        CRC32 crc = new CRC32();
        crc.update(b.array(), 0, length - 8);
        b.putLong(crc.getValue());
        Path tmp = null;
        try {
            Files.createDirectories(f.getParent());
            tmp = Files.createTempFile(f.getParent(), "." + f.getFileName(), ".tmp");
            try (OutputStream out = Files.newOutputStream(tmp)) {
                out.write(b.array());
            }
            try {
                Files.move(tmp, f, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            } catch (AtomicMoveNotSupportedException notAtomic) {
                throw new IOException("the file system cannot replace files atomically", notAtomic);
            }
            diskWrites.incrementAndGet();
        } catch (IOException | RuntimeException ex) {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // the write already failed; the stray temporary file holds no entry anyone reads
                }
            }
            if (diskBroken.compareAndSet(false, true)) {
                warnings.accept("cannot write the image cache in " + dir + " (" + ex.getMessage() + "); images not cached in memory are "
                        + "decoded every epoch from now on (--cache-dir picks another folder)");
            }
        }
    }

    // ---- entries ----------------------------------------------------------------------------------------------

    /** One image as 16-bit fractions, one plane when its three channels are equal, with its source's size and time. */
    static final class Entry {
        final int channels, height, width;
        final short[] data;
        final long size, mtime;

        Entry(int channels, int height, int width, short[] data, long size, long mtime) {
            this.channels = channels;
            this.height = height;
            this.width = width;
            this.data = data;
            this.size = size;
            this.mtime = mtime;
        }

        static Entry of(FloatImage img, long size, long mtime) {
            int plane = img.height() * img.width();
            float[] d = img.data();
            boolean gray = img.channels() == 3;
            for (int i = 0; gray && i < plane; i++) {
                gray = d[i] == d[plane + i] && d[i] == d[2 * plane + i];
            }
            int c = gray ? 1 : img.channels();
            short[] q = new short[c * plane];
            for (int i = 0; i < q.length; i++) {
                float v = Math.min(1f, Math.max(0f, d[i]));
                q[i] = (short) Math.round(v * 65535f);
            }
            return new Entry(c, img.height(), img.width(), q, size, mtime);
        }

        long bytes() {
            return data.length * 2L + ENTRY_OVERHEAD;
        }

        /** The image as 3 (or its own count of) float channels; values (q / 65535) exactly the decoded ones for 8- and 16-bit data. */
        FloatImage image() {
            int plane = height * width;
            int out = channels == 1 ? 3 : channels;
            float[] d = new float[out * plane];
            for (int i = 0; i < data.length; i++) {
                d[i] = (data[i] & 0xffff) / 65535f;
            }
            for (int c = channels; c < out; c++) {
                System.arraycopy(d, 0, d, c * plane, plane);
            }
            return new FloatImage(out, height, width, d);
        }
    }
}
