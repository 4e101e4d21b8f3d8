package dev.graft.loaders;

import dev.graft.engine.GraftException;
import java.util.Locale;

/**
 * What the loaders allow a file to make them allocate, checked before anything is allocated.
 *
 * <p><b>Heap budget.</b> Loading converts tensors to float32, float64 or int64 arrays on the Java heap (float16,
 * bfloat16 and every integer type widen, so a 700 MB uint8 tensor needs 5.6 GB), and a {@code .pth} view may
 * repeat a small storage's elements many times over. Before reading any data, a load adds up what its tensors
 * will take on the heap and refuses with a {@link LoadLimitException} when that exceeds the budget: by default
 * half of the JVM's max heap ({@code -Xmx}; Java's default is a quarter of the machine's memory, so 3 GiB on a
 * 24 GiB machine: enough for ResNet-152's 241 MB or ViT-L's 1.2 GB of float32, not for 400 views of 64 MiB
 * each). The system property {@value #MAX_BYTES_PROPERTY} sets it: bytes with an optional k, m or g suffix
 * ({@code 12g}) or a share of the max heap ({@code 80%}); the {@code graft} launcher passes it through
 * {@code GRAFT_JAVA_OPTS}. The other half of the heap is left for what the loaded tensors are copied into.
 *
 * <p><b>Rank.</b> At most {@value #MAX_RANK} dimensions, for reading and writing alike, so Graft never writes a
 * file it would refuse to read. NumPy 2 allows 64 (NumPy 1 allows 32); PyTorch and the safetensors reference
 * implementation set no limit (torch 1.13 saves and loads rank-100000 tensors); oneDNN kernels take at most 12.
 */
public final class LoadLimits {
    /** System property for the heap budget of one load. */
    public static final String MAX_BYTES_PROPERTY = "graft.loaders.maxBytes";
    /** Dimensions a tensor may have in any file Graft reads or writes. */
    public static final int MAX_RANK = 64;
    private static final int DEFAULT_PERCENT = 50;

    private LoadLimits() {
    }

    /** The budget in bytes: the system property if set, else half of the max heap. */
    public static long maxBytes() {
        String v = System.getProperty(MAX_BYTES_PROPERTY);
        return v == null || v.isBlank() ? defaultBudget(maxHeap()) : parse(v.strip());
    }

    /** The default budget for a JVM whose max heap is {@code maxHeap} bytes. */
    static long defaultBudget(long maxHeap) {
        return maxHeap / 100 * DEFAULT_PERCENT;
    }

    /** Where {@link #maxBytes()} comes from, for messages. */
    public static String describeMaxBytes() {
        String v = System.getProperty(MAX_BYTES_PROPERTY);
        return v == null || v.isBlank()
                ? DEFAULT_PERCENT + "% of the JVM's " + size(maxHeap()) + " max heap"
                : "-D" + MAX_BYTES_PROPERTY + "=" + v.strip();
    }

    /** How to raise the budget, for messages. */
    static String howToRaise() {
        return "raise it with -D" + MAX_BYTES_PROPERTY + "=SIZE (bytes, 12g, or 80% of the max heap) and give Java a"
                + " larger heap with -Xmx (for graft: GRAFT_JAVA_OPTS=\"-Xmx24g -D" + MAX_BYTES_PROPERTY + "=16g\")";
    }

    private static long maxHeap() {
        long max = Runtime.getRuntime().maxMemory();
        return max == Long.MAX_VALUE ? Long.MAX_VALUE / 2 : max;
    }

    private static long parse(String v) {
        try {
            if (v.endsWith("%")) {
                int percent = Integer.parseInt(v.substring(0, v.length() - 1).strip());
                if (percent < 1 || percent > 100) {
                    throw new NumberFormatException();
                }
                return maxHeap() / 100 * percent;
            }
            char unit = Character.toLowerCase(v.charAt(v.length() - 1));
            int shift = switch (unit) {
                case 'k' -> 10;
                case 'm' -> 20;
                case 'g' -> 30;
                case 't' -> 40;
                default -> 0;
            };
            long n = Long.parseLong(shift == 0 ? v : v.substring(0, v.length() - 1).strip());
            if (n < 0 || n > (Long.MAX_VALUE >> shift)) {
                throw new NumberFormatException();
            }
            return n << shift;
        } catch (NumberFormatException | StringIndexOutOfBoundsException e) {
            throw new GraftException("system property " + MAX_BYTES_PROPERTY + "='" + v + "' is not a size: use bytes"
                    + " with an optional k, m, g or t suffix (12g) or a share of the max heap from 1% to 100% (80%)");
        }
    }

    /** {@code 1.5 GiB}-style, for messages. */
    static String size(long bytes) {
        String[] units = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
        double v = bytes;
        int u = 0;
        while (v >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return u == 0 ? bytes + " bytes" : String.format(Locale.ROOT, "%.1f %s", v, units[u]);
    }
}
