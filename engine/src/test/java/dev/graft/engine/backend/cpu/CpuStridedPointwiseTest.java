package dev.graft.engine.backend.cpu;

import dev.graft.engine.NDArray;
import dev.graft.engine.Scope;
import dev.graft.engine.Shape;
import dev.graft.engine.backend.Conv2dSpec;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static dev.graft.engine.backend.cpu.Oracle.CPU;
import static dev.graft.engine.backend.cpu.Oracle.REF;
import static dev.graft.engine.backend.cpu.Oracle.abs;
import static dev.graft.engine.backend.cpu.Oracle.assertClose;
import static dev.graft.engine.backend.cpu.Oracle.cpu;
import static dev.graft.engine.backend.cpu.Oracle.random;
import static dev.graft.engine.backend.cpu.Oracle.ref;
import static dev.graft.engine.backend.cpu.Oracle.summationTolerance;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Regression for the heap overrun in oneDNN 3.11's {@code jit_1x1} backward-weights of strided 1x1 convolutions
 * (see {@link CpuConvolution#routesStridedPointwise}): on 2 threads, x [1,7,22,14], w [14,7,1,1], stride 2 aborted the
 * JVM within 60 calls every time (glibc: {@code free(): invalid pointer}, or SIGSEGV in libdnnl). These are the shapes
 * the fuzzer and the kernel sweep found, each run 60 times in this JVM (whose oneDNN uses every core) and compared
 * with the reference, with the summation bound over N*P*Q products. A regression takes the test JVM down, which fails
 * the build; the guard bytes the test suite sets ({@code -Dgraft.cpu.guardBytes}) report an overrun of Graft's own
 * buffers by name.
 */
class CpuStridedPointwiseTest {

    @ParameterizedTest
    @CsvSource({
            "1, 7, 22, 14, 14, 2", // the network fuzzer's draw
            "1, 2, 22, 14, 14, 2",
            "1, 8, 22, 14, 16, 2",
            "1, 12, 24, 14, 14, 2",
            "1, 7, 22, 16, 14, 2",
            "1, 14, 11, 7, 28, 2", // odd input sizes
            "2, 7, 22, 14, 14, 3",
            "4, 64, 56, 56, 128, 2" // a ResNet downsample (layer2.0), batch 4
    })
    void strided1x1WeightGradientsAreRightAndStayInBounds(int n, int c, int h, int w, int k, int stride) {
        Shape xs = Shape.of(n, c, h, w);
        Shape ws = Shape.of(k, c, 1, 1);
        Conv2dSpec spec = new Conv2dSpec(stride, stride, 0, 0, 1, 1, 1);
        assertTrue(CpuConvolution.routesStridedPointwise(ws, spec));
        Shape ys = Shape.of(n, k, Conv2dSpec.outputSize(h, 1, stride, 0, 1), Conv2dSpec.outputSize(w, 1, stride, 0, 1));
        int rounds = n * c * h * w > 100_000 ? 3 : 60;
        for (int round = 0; round < rounds; round++) {
            try (Scope scope = Scope.open()) {
                float[] x = random(xs.numel(), round);
                float[] dy = random(ys.numel(), round + 1);
                NDArray actual = CPU.conv2dBackwardWeights(cpu(dy, ys, true), cpu(x, xs, round % 2 == 0), ws, spec);
                if (round < 3) {
                    NDArray expected = REF.conv2dBackwardWeights(ref(dy, ys), ref(x, xs), ws, spec);
                    NDArray bound = REF.conv2dBackwardWeights(ref(abs(dy), ys), ref(abs(x), xs), ws, spec);
                    assertClose("strided 1x1 backward-weights " + xs + " stride " + stride, expected, actual,
                            summationTolerance((long) ys.dim(0) * ys.dim(2) * ys.dim(3), bound));
                }
            }
        }
    }
}
