package dev.graft.engine.backend.cpu;

import dev.graft.engine.NDArray;
import dev.graft.engine.Scope;
import dev.graft.engine.Shape;
import dev.graft.engine.backend.Conv2dSpec;
import dev.graft.engine.backend.Pool2dSpec;
import dev.graft.engine.backend.Pooled;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.EdgeCasesMode;
import net.jqwik.api.ForAll;
import net.jqwik.api.GenerationMode;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.constraints.IntRange;

import java.util.Random;

import static dev.graft.engine.backend.cpu.Oracle.CPU;
import static dev.graft.engine.backend.cpu.Oracle.REF;
import static dev.graft.engine.backend.cpu.Oracle.assertExact;
import static dev.graft.engine.backend.cpu.Oracle.cpu;
import static dev.graft.engine.backend.cpu.Oracle.ref;

/**
 * ResNet's max pooling (3x3, stride 2, padding 1) on cpu against the reference, forward and backward, with ties:
 * the gradient of each window must go to its first maximum in scan order (row by row; padding never wins), PyTorch's
 * rule, which the reference implements. CpuPoolingProperties covers other windows at up to 5 channels; here oneDNN's
 * jit kernel runs over 64 to 512 channels at a time.
 *
 * <p>Shapes: batch 1 to 4, channels from {64, 128, 256, 512}, maps 1x1 to 16x16 with H and W independent (even and
 * odd, so the last window may hang over the edge), row-major or channels-last; and ResNet's stem shape, [2, 64, 112,
 * 112]. Both after a training forward (oneDNN's workspace) and an inference one (the cpu backend recomputes the
 * winners).
 *
 * <p>Inputs: relu outputs (max(0, N(0,1) - 0.5): about 70% exact zeros, as +0 or -0, which compare equal, so windows
 * of all zeros are common), relu'd small integers (0, 1, 2; about 70% zeros), or small integers in [-2, 2].
 * Output gradients are nonzero integers in [-64, 64], distinct enough that a gradient sent to the wrong element shows.
 *
 * <p>Tolerance: none. The forward copies input values; the backward adds at most four gradients into one input (a
 * 3x3 window at stride 2 overlaps ceil(3/2)^2 = 4 windows), and sums of up to four integers below 2^8 are exact in
 * float in any order.
 */
class CpuRealisticPoolingProperties {
    static final Pool2dSpec RESNET = Pool2dSpec.of(3, 2, 1);

    enum Data { RELU_FLOATS, RELU_INTEGERS, INTEGERS }

    @Provide
    Arbitrary<Integer> channels() {
        return Arbitraries.frequencyOf(
                Tuple.of(3, Arbitraries.just(64)), Tuple.of(3, Arbitraries.just(128)),
                Tuple.of(2, Arbitraries.just(256)), Tuple.of(2, Arbitraries.just(512)));
    }

    static float[] data(Data kind, int numel, long seed) {
        Random r = new Random(seed);
        float[] v = new float[numel];
        for (int i = 0; i < numel; i++) {
            float x = switch (kind) {
                case RELU_FLOATS -> (float) Math.max(0, r.nextGaussian() - 0.5);
                case RELU_INTEGERS -> Math.max(0, r.nextInt(7) - 4);
                case INTEGERS -> r.nextInt(5) - 2;
            };
            // A relu may return -0 for a negative input (x * 0); both zeros are the same maximum.
            v[i] = x == 0 && kind != Data.INTEGERS && r.nextBoolean() ? -0f : x;
        }
        return v;
    }

    /** Nonzero integers in [-64, 64]. */
    static float[] gradients(int numel, long seed) {
        Random r = new Random(seed);
        float[] v = new float[numel];
        for (int i = 0; i < numel; i++) {
            int g = r.nextInt(128) - 64;
            v[i] = g >= 0 ? g + 1 : g;
        }
        return v;
    }

    @Property(tries = 100, edgeCases = EdgeCasesMode.NONE)
    void maxPoolMatchesReference(@ForAll @IntRange(min = 1, max = 4) int n, @ForAll("channels") int c,
                                 @ForAll @IntRange(min = 1, max = 16) int h, @ForAll @IntRange(min = 1, max = 16) int w,
                                 @ForAll Data kind, @ForAll boolean training, @ForAll boolean channelsLast,
                                 @ForAll long seed) {
        check(Shape.of(n, c, h, w), kind, training, channelsLast, seed);
    }

    /** The stem's max pooling, 112x112 -> 56x56 at 64 channels, every kind of data, both modes. */
    @Property(generation = GenerationMode.EXHAUSTIVE)
    void stemMaxPoolMatchesReference(@ForAll Data kind, @ForAll boolean training) {
        check(Shape.of(2, 64, 112, 112), kind, training, true, kind.ordinal());
    }

    private static void check(Shape xs, Data kind, boolean training, boolean channelsLast, long seed) {
        Shape ys = Shape.of(xs.dim(0), xs.dim(1), Conv2dSpec.outputSize(xs.dim(2), 3, 2, 1, 1),
                Conv2dSpec.outputSize(xs.dim(3), 3, 2, 1, 1));
        try (Scope scope = Scope.open()) {
            float[] x = data(kind, xs.numel(), seed);
            float[] dy = gradients(ys.numel(), seed + 1);
            NDArray xr = ref(x, xs);
            NDArray xc = cpu(x, xs, channelsLast);
            Pooled e = REF.maxPool2d(xr, RESNET, training);
            Pooled a = CPU.maxPool2d(xc, RESNET, training);
            String what = "max pool 3x3/2 pad 1 " + xs + " " + kind + (training ? ", training" : ", inference")
                    + (channelsLast ? ", x channels-last" : "");
            assertExact(what, e.output(), a.output());
            NDArray dxe = REF.maxPool2dBackward(ref(dy, ys), xr, e, RESNET);
            NDArray dxa = CPU.maxPool2dBackward(cpu(dy, ys, !channelsLast), xc, a, RESNET);
            assertExact(what + " backward", dxe, dxa);
        }
    }
}
