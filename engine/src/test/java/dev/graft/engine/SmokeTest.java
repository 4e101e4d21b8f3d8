package dev.graft.engine;

import dev.graft.engine.backend.Conv2dSpec;
import dev.graft.engine.backend.Pool2dSpec;
import dev.graft.engine.testing.GradCheck;
import dev.graft.engine.testing.GradCheck.Input;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class SmokeTest {
    @Test
    void convBnReluPoolLinearGradients() {
        int[] labels = {1, 0};
        GradCheck.check("net", in -> {
            Tensor x = in.get(0);
            Tensor y = Functional.conv2d(x, in.get(1), in.get(2), Conv2dSpec.of(1, 1));
            y = Functional.batchNorm2d(y, in.get(3), in.get(4), null, null, true, 0.1, 1e-5).relu();
            y = Functional.maxPool2d(y, Pool2dSpec.of(2, 2, 0));
            y = Functional.adaptiveAvgPool2d(y, 1).flatten(1);
            y = Functional.linear(y, in.get(5), in.get(6));
            return Functional.crossEntropy(y, labels, new float[] {0.3f, 1.2f}, 0.1);
        },
                Input.of(GradCheck.randomLike(2 * 2 * 5 * 5, 1), 2, 2, 5, 5),
                Input.of(GradCheck.randomLike(3 * 2 * 3 * 3, 2), 3, 2, 3, 3),
                Input.of(GradCheck.randomLike(3, 3), 3),
                Input.of(GradCheck.randomLike(3, 4), 3),
                Input.of(GradCheck.randomLike(3, 5), 3),
                Input.of(GradCheck.randomLike(2 * 3, 6), 2, 3),
                Input.of(GradCheck.randomLike(2, 7), 2));
    }

    @Test
    void reshapeOfTensorUsedTwiceAccumulates() {
        try (Scope s = Scope.open()) {
            Tensor x = Tensor.fromArray(Device.REFERENCE, new float[] {1, 2, 3}, 3).requiresGrad(true);
            x.mul(x).sum().backward();
            assertEquals(2.0, x.grad().toDoubleArray()[0], 0);
            assertEquals(6.0, x.grad().toDoubleArray()[2], 0);
        }
    }
}
