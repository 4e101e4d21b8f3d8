package dev.graft.engine.backend.cpu;

import dev.graft.engine.Layout;
import dev.graft.engine.NDArray;
import dev.graft.engine.Shape;

import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;

/**
 * The Java fallback of {@code sumTo}: walks x in its physical order (NHWC for channels-last) and adds each
 * element, in double, to the row-major output element it broadcasts from. Adjacent dimensions that are both
 * summed, or both kept and contiguous in the output, are merged first, so the common cases (per-channel
 * sums of channels-last data, full sums) run as one or two tight loops. Chunks of the element range run in
 * parallel with private accumulators, added in chunk order (deterministic) when the output is small.
 */
final class StridedSum {
    private static final int MAX_PARALLEL_OUTPUT = 1 << 16;

    private final NDArray x;
    private final Parallel parallel;
    private final int outNumel;
    /** Physical dims of x after merging, outermost first, and the output stride of each (0 = summed). */
    private final long[] size;
    private final long[] outStride;

    StridedSum(NDArray x, Shape target, Parallel parallel) {
        this.x = x;
        this.parallel = parallel;
        this.outNumel = target.numel();
        int rank = x.shape().rank();
        int[] perm = x.layout() == Layout.CHANNELS_LAST ? new int[] {0, 2, 3, 1} : identity(rank);
        long[] tdims = CpuBinary.padded(target, rank);
        long[] tstrides = Dnnl.rowMajorStrides(tdims);
        List<long[]> dims = new ArrayList<>();
        for (int p : perm) {
            long n = x.shape().dim(p);
            long s = tdims[p] == 1 ? 0 : tstrides[p];
            if (n == 1) {
                continue;
            }
            long[] last = dims.isEmpty() ? null : dims.get(dims.size() - 1);
            if (last != null && last[1] == s * n) {
                last[0] *= n;
                last[1] = s;
            } else {
                dims.add(new long[] {n, s});
            }
        }
        if (dims.isEmpty()) {
            dims.add(new long[] {1, 0});
        }
        size = new long[dims.size()];
        outStride = new long[dims.size()];
        for (int i = 0; i < size.length; i++) {
            size[i] = dims.get(i)[0];
            outStride[i] = dims.get(i)[1];
        }
    }

    void into(NativeBuffer out) {
        NativeBuffer in = NativeBuffer.of(x);
        double[] acc;
        if (outNumel > MAX_PARALLEL_OUTPUT) {
            acc = new double[outNumel];
            for (long start = 0; start < x.numel(); start += NativeMemory.MAX_VIEW) {
                runRange(in, start, (int) Math.min(NativeMemory.MAX_VIEW, x.numel() - start), acc);
            }
        } else {
            Map<Long, double[]> partials = new ConcurrentSkipListMap<>();
            parallel.forEach(x.numel(), (start, n) -> {
                double[] part = new double[outNumel];
                runRange(in, start, n, part);
                partials.put(start, part);
            });
            acc = new double[outNumel];
            for (double[] part : partials.values()) {
                for (int i = 0; i < outNumel; i++) {
                    acc[i] += part[i];
                }
            }
        }
        FloatBuffer o = out.floats(0, outNumel);
        for (int i = 0; i < outNumel; i++) {
            o.put(i, (float) acc[i]);
        }
    }

    /** Adds elements [start, start + n) of x (physical order, n <= MAX_VIEW) into acc. */
    private void runRange(NativeBuffer in, long start, int n, double[] acc) {
        int d = size.length;
        long[] idx = new long[d];
        long rem = start;
        for (int k = d - 1; k >= 0; k--) {
            idx[k] = rem % size[k];
            rem /= size[k];
        }
        FloatBuffer v = in.floats(start, n);
        long inner = size[d - 1];
        long innerStride = outStride[d - 1];
        int pos = 0;
        while (pos < n) {
            long o = 0;
            for (int k = 0; k < d; k++) {
                o += idx[k] * outStride[k];
            }
            int run = (int) Math.min(inner - idx[d - 1], n - pos);
            if (innerStride == 0) {
                double sum = 0;
                for (int i = 0; i < run; i++) {
                    sum += v.get(pos + i);
                }
                acc[(int) o] += sum;
            } else {
                for (int i = 0; i < run; i++) {
                    acc[(int) (o + i * innerStride)] += v.get(pos + i);
                }
            }
            pos += run;
            idx[d - 1] += run;
            for (int k = d - 1; k > 0 && idx[k] == size[k]; k--) {
                idx[k] = 0;
                idx[k - 1]++;
            }
        }
    }

    private static int[] identity(int rank) {
        int[] p = new int[rank];
        for (int i = 0; i < rank; i++) {
            p[i] = i;
        }
        return p;
    }
}
