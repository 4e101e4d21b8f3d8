package dev.graft.engine.backend.cpu;

import dev.graft.engine.DType;
import dev.graft.engine.Layout;
import dev.graft.engine.NDArray;
import dev.graft.engine.Scope;
import dev.graft.engine.Shape;
import dev.graft.engine.backend.Conv2dSpec;
import dev.graft.engine.bench.ResNetConvShapes;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

import static dev.graft.engine.backend.cpu.Oracle.CPU;
import static dev.graft.engine.backend.cpu.Oracle.cpu;
import static dev.graft.engine.backend.cpu.Oracle.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The fused inference convolution's kernel choice and its reuse of an output buffer. */
class CpuFusedConvolutionTest {
    private static final Pattern SLOW = Pattern.compile("(^|[^a-z])ref([^a-z]|$)|jit_uni_ncsp");

    /** Writing twice into the same out buffer (a reused workspace) gives the same values: nothing accumulates. */
    @Test
    void reusedOutputIsOverwritten() {
        try (Scope scope = Scope.open()) {
            Shape xs = Shape.of(1, 8, 6, 6);
            Shape ws = Shape.of(8, 8, 3, 3);
            Shape ys = Shape.of(1, 8, 6, 6);
            NDArray x = cpu(random(xs.numel(), 1), xs, true);
            NDArray w = cpu(random(ws.numel(), 2), ws);
            NDArray res = cpu(random(ys.numel(), 3), ys, true);
            NDArray out = CPU.empty(DType.F32, ys, Layout.CHANNELS_LAST);
            float[] first = CPU.conv2dInference(x, w, null, res, true, Conv2dSpec.of(1, 1), out).toFloatArray();
            float[] second = CPU.conv2dInference(x, w, null, res, true, Conv2dSpec.of(1, 1), out).toFloatArray();
            assertArrayEquals(first, second);
        }
    }

    /** Every ResNet-18/50 convolution at batch 1 and 8, with the epilogues a folded ResNet uses, gets a jit kernel. */
    @Test
    void resnetShapesUseOptimisedKernels() {
        CpuBackend cpu = (CpuBackend) CPU;
        List<String> slow = new ArrayList<>();
        for (ResNetConvShapes.Occurrence o : ResNetConvShapes.distinct()) {
            ResNetConvShapes.Conv c = o.conv();
            for (int batch : new int[] {1, 8}) {
                for (boolean residual : new boolean[] {false, true}) {
                    String kernel = cpu.fusedConvolutionImplementation(c.x(batch), c.w(), c.spec(), true, residual, true);
                    if (SLOW.matcher(kernel).find()) {
                        slow.add(c + " batch " + batch + (residual ? " + residual" : "") + ": " + kernel);
                    }
                }
            }
        }
        assertTrue(slow.isEmpty(), "slow oneDNN kernels picked for fused inference convolutions:\n" + String.join("\n", slow));
    }
}
