package dev.graft.engine.backend.cuda;

import dev.graft.engine.DType;
import dev.graft.engine.Device;
import dev.graft.engine.Scope;
import dev.graft.engine.Shape;
import dev.graft.engine.backend.Backend;
import dev.graft.engine.backend.Backends;
import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * Runs without a GPU: replays, in Java, the index arithmetic of {@code add_bcast_f32} and the {@code sum_to_*}
 * kernels (elementwise.cu, reduce.cu) on the structs the host packs, and compares with the reference backend.
 * So the struct layout and the broadcast/reduction bookkeeping are checked here; the gpu suite checks the rest.
 */
class KernelIndexMathTest {
    private static final int R = ElementwiseKernels.MAX_RANK;

    /** elementwise.cu bcast_offset over the Broadcast struct {rank, size[8], bstride[8]}. */
    static long bcastOffset(long i, long[] s) {
        long off = 0;
        for (int d = (int) s[0] - 1; d >= 0; --d) {
            long c = i % s[1 + d];
            i /= s[1 + d];
            off += c * s[1 + R + d];
        }
        return off;
    }

    /** reduce.cu split_offset over one half of the Reduction struct. */
    static long splitOffset(long i, long rank, long[] w, int sizeAt, int strideAt) {
        long off = 0;
        for (int d = (int) rank - 1; d >= 0; --d) {
            off += (i % w[sizeAt + d]) * w[strideAt + d];
            i /= w[sizeAt + d];
        }
        return off;
    }

    /** reduce.cu sum_to_*: out[o] = sum over k of x[kept(o) + reduced(k)]. */
    static double[] sumTo(double[] x, long[] r, int outCount) {
        int keptSize = 1;
        int keptStride = 1 + R;
        int redRank = 1 + 2 * R;
        int redSize = redRank + 1;
        int redStride = redSize + R;
        double[] out = new double[outCount];
        for (int o = 0; o < outCount; o++) {
            long base = splitOffset(o, r[0], r, keptSize, keptStride);
            for (long k = 0; k < r[r.length - 1]; k++) {
                out[o] += x[(int) (base + splitOffset(k, r[redRank], r, redSize, redStride))];
            }
        }
        return out;
    }

    @Test
    void broadcastAndReductionStructsMatchTheReferenceBackend() {
        Backend ref = Backends.get(Device.REFERENCE);
        Random rnd = new Random(7);
        try (Scope scope = Scope.open()) {
            for (int trial = 0; trial < 300; trial++) {
                int rank = 1 + rnd.nextInt(5);
                int[] a = new int[rank];
                for (int d = 0; d < rank; d++) {
                    a[d] = 1 + rnd.nextInt(4);
                }
                int bRank = rnd.nextInt(rank + 1);
                int[] b = new int[bRank];
                for (int d = 0; d < bRank; d++) {
                    b[d] = rnd.nextBoolean() ? 1 : a[rank - bRank + d];
                }
                Shape as = Shape.of(a);
                Shape bs = Shape.of(b);
                double[] av = values(rnd, as.numel());
                double[] bv = values(rnd, bs.numel());

                double[] expected = ref.add(ref.fromHost(av, as, DType.F64), ref.fromHost(bv, bs, DType.F64)).toDoubleArray();
                long[] s = ElementwiseKernels.broadcast(as, bs);
                double[] got = new double[as.numel()];
                for (int i = 0; i < got.length; i++) {
                    got[i] = av[i] + bv[(int) bcastOffset(i, s)];
                }
                assertArrayEquals(expected, got, 0, "add " + as + " + " + bs);

                double[] sums = ref.sumTo(ref.fromHost(av, as, DType.F64), bs).toDoubleArray();
                assertArrayEquals(sums, sumTo(av, ReductionKernels.reduction(as, bs), bs.numel()), 1e-12, "sumTo " + as + " -> " + bs);
            }
        }
    }

    private static double[] values(Random r, int n) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            v[i] = Math.round(r.nextGaussian() * 100) / 8.0;
        }
        return v;
    }
}
