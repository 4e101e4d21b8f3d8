package dev.graft.engine.backend.cpu;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;

/**
 * Splits plain-Java loops over large buffers across the same number of threads oneDNN uses. Small loops run
 * on the caller's thread. Chunk boundaries depend only on the length, so results (including floating-point
 * sums combined chunk by chunk) are deterministic.
 */
final class Parallel {
    /** Below this many elements a loop is not worth a fork (about 30 µs of memory traffic). */
    static final int MIN_PARALLEL = 1 << 16;

    private final int threads;
    private final ForkJoinPool pool;

    Parallel(int threads) {
        this.threads = Math.max(1, threads);
        this.pool = this.threads > 1 ? new ForkJoinPool(this.threads) : null;
    }

    /** A range body: processes elements [start, end); end - start never exceeds {@link NativeMemory#MAX_VIEW}. */
    interface Range {
        void run(long start, int length);
    }

    /** A range body that returns a partial result (for reductions). */
    interface RangeSum {
        double run(long start, int length);
    }

    /** Runs {@code body} over [0, n) in chunks. */
    void forEach(long n, Range body) {
        List<long[]> chunks = chunks(n);
        if (chunks.size() == 1 || pool == null) {
            for (long[] c : chunks) {
                body.run(c[0], (int) c[1]);
            }
            return;
        }
        List<ForkJoinTask<?>> tasks = new ArrayList<>(chunks.size());
        for (long[] c : chunks) {
            tasks.add(pool.submit(() -> body.run(c[0], (int) c[1])));
        }
        for (ForkJoinTask<?> t : tasks) {
            t.join();
        }
    }

    /** Sum of {@code body} over the chunks of [0, n), added in chunk order. */
    double sum(long n, RangeSum body) {
        double s = 0;
        for (double p : partials(n, body)) {
            s += p;
        }
        return s;
    }

    /** Largest of {@code body}'s results over the chunks of [0, n); NaN if any is NaN. */
    double max(long n, RangeSum body) {
        double m = Double.NEGATIVE_INFINITY;
        for (double p : partials(n, body)) {
            m = Math.max(m, p);
        }
        return m;
    }

    private double[] partials(long n, RangeSum body) {
        List<long[]> chunks = chunks(n);
        double[] partial = new double[chunks.size()];
        if (chunks.size() == 1 || pool == null) {
            for (int i = 0; i < partial.length; i++) {
                partial[i] = body.run(chunks.get(i)[0], (int) chunks.get(i)[1]);
            }
        } else {
            List<ForkJoinTask<?>> tasks = new ArrayList<>(chunks.size());
            for (int i = 0; i < partial.length; i++) {
                int k = i;
                long[] c = chunks.get(i);
                tasks.add(pool.submit(() -> {
                    partial[k] = body.run(c[0], (int) c[1]);
                }));
            }
            for (ForkJoinTask<?> t : tasks) {
                t.join();
            }
        }
        return partial;
    }

    /** [start, length] pairs: one chunk when small, else about 4 per thread, each at most MAX_VIEW long. */
    private List<long[]> chunks(long n) {
        int count = n < MIN_PARALLEL ? 1 : threads * 4;
        long size = Math.max(1, (n + count - 1) / count);
        size = Math.min(size, NativeMemory.MAX_VIEW);
        // Multiples of 16 floats keep every chunk on a cache-line boundary of an aligned buffer.
        size = (size + 15) & ~15L;
        List<long[]> out = new ArrayList<>();
        for (long s = 0; s < n || out.isEmpty(); s += size) {
            out.add(new long[] {s, (int) Math.min(size, n - s)});
        }
        return out;
    }

    void close() {
        if (pool != null) {
            pool.shutdown();
        }
    }
}
