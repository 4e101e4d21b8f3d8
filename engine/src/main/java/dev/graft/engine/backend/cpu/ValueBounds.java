package dev.graft.engine.backend.cpu;

import dev.graft.engine.NDArray;
import dev.graft.engine.backend.Buffer;

import java.util.Map;
import java.util.WeakHashMap;

/**
 * What the cpu backend knows about the size of the values in its buffers: a bound B with |v| <= B for every element,
 * so every element finite, valid for one buffer version. Kernels that would lose a NaN or an infinity (oneDNN's relu
 * post-op maps NaN to 0; its max pooling skips NaN) ask for a bound and reroute when there is none; kernels whose
 * output is bounded by their inputs' bounds record one for it, so a network of such kernels scans its input image
 * once instead of scanning every activation (dev.graft.engine.bench.NonFiniteCheckBench).
 *
 * <p>A bound is measured (a scan, {@link CpuReduction#magnitudeBound}: 2^16 for moderate values, else the largest
 * |v|) or derived (from the operands' bounds, see {@link CpuFusedConvolution}); a derived bound too large to be useful
 * is replaced by a measured one. Like {@link WeightCache}, this relies on every write to a buffer bumping its
 * {@link Buffer#version()}: a bound is only used at the version it was recorded for. Keys are weak (buffers compare
 * by identity), so closed buffers drop out as they are collected.
 */
final class ValueBounds {
    private record Known(int version, double bound, boolean measured) {
    }

    private final CpuReduction reduction;
    private final Map<Buffer, Known> known = new WeakHashMap<>();

    ValueBounds(CpuReduction reduction) {
        this.reduction = reduction;
    }

    /** The recorded bound of a's values at their current version, or +inf when none is recorded (no scan). */
    double recorded(NDArray a) {
        Known k = known.get(a.buffer());
        return k != null && k.version() == a.buffer().version() ? k.bound() : Double.POSITIVE_INFINITY;
    }

    /** Whether the recorded bound of a (if any) came from a scan, so scanning again would not tighten it. */
    boolean measured(NDArray a) {
        Known k = known.get(a.buffer());
        return k != null && k.version() == a.buffer().version() && k.measured();
    }

    /** A bound on a's values: the recorded one, or a scan's (recorded when finite); +inf when a holds NaN or an infinity. */
    double of(NDArray a) {
        double b = recorded(a);
        return b < Double.POSITIVE_INFINITY ? b : measure(a);
    }

    /** Scans a for a bound ({@link CpuReduction#magnitudeBound}) and records it; +inf when a holds NaN or an infinity. */
    double measure(NDArray a) {
        double m = reduction.magnitudeBound(a);
        if (m <= Float.MAX_VALUE) {
            known.put(a.buffer(), new Known(a.buffer().version(), m, true));
        }
        return m;
    }

    /** Records that every |v| of a (at its current version) is at most {@code bound}; ignored above Float.MAX_VALUE. */
    void record(NDArray a, double bound) {
        if (bound <= Float.MAX_VALUE) {
            known.put(a.buffer(), new Known(a.buffer().version(), bound, false));
        }
    }
}
