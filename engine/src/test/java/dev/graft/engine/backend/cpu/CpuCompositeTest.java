package dev.graft.engine.backend.cpu;

import dev.graft.engine.Device;
import dev.graft.engine.Scope;
import dev.graft.engine.Tensor;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertNotNull;

/**
 * A whole forward and backward pass through {@link SmallNet} on cpu and on the reference: the loss, every
 * parameter gradient, the input gradient and the updated running statistics agree. Errors of the individual
 * kernels (each bounded tightly in the *Properties classes) compound through the network, so this test uses one
 * stated bound per array: 64 * L * u * max|reference|, with L = 128 = N*H*W the longest reduction in the
 * network (batch-norm statistics and the weight gradient of the convolution sum over it). One exception: in
 * training mode the convolution bias feeds batch norm, which subtracts the batch mean, so its exact gradient is
 * zero and both backends return rounding noise of a cancelling sum of the same dy terms as the weight
 * gradient; it is compared on the weight gradient's scale.
 */
class CpuCompositeTest {
    private static final double L = SmallNet.N * SmallNet.HW * SmallNet.HW;

    @ParameterizedTest(name = "training = {0}")
    @ValueSource(booleans = {true, false})
    void lossAndGradientsMatchReference(boolean training) {
        try (Scope scope = Scope.open()) {
            SmallNet ref = new SmallNet(Device.REFERENCE, 11);
            SmallNet cpu = new SmallNet(Device.CPU, 11);
            Tensor lr = ref.loss(training);
            Tensor lc = cpu.loss(training);
            compare("loss", lr.toFloatArray(), lc.toFloatArray(), maxAbs(lr.toFloatArray()));
            lr.backward();
            lc.backward();
            for (Map.Entry<String, Tensor> e : ref.params.entrySet()) {
                Tensor gc = cpu.params.get(e.getKey()).grad();
                assertNotNull(gc, "cpu gradient of " + e.getKey());
                float[] expected = e.getValue().grad().toFloatArray();
                double scale = training && e.getKey().equals("conv.bias")
                        ? maxAbs(ref.params.get("conv.weight").grad().toFloatArray()) : maxAbs(expected);
                compare("gradient of " + e.getKey(), expected, gc.toFloatArray(), scale);
            }
            compare("running mean", ref.runningMean.toFloatArray(), cpu.runningMean.toFloatArray(), maxAbs(ref.runningMean.toFloatArray()));
            compare("running var", ref.runningVar.toFloatArray(), cpu.runningVar.toFloatArray(), maxAbs(ref.runningVar.toFloatArray()));
        }
    }

    private static double maxAbs(float[] v) {
        double max = 0;
        for (float x : v) {
            max = Math.max(max, Math.abs(x));
        }
        return max;
    }

    private static void compare(String what, float[] expected, float[] actual, double scale) {
        double tol = 64 * L * Oracle.U * scale;
        for (int i = 0; i < expected.length; i++) {
            if (!(Math.abs((double) actual[i] - expected[i]) <= tol)) {
                throw new AssertionError(what + " element " + i + ": cpu " + actual[i] + ", reference " + expected[i]
                        + " (tolerance " + tol + ")");
            }
        }
    }
}
