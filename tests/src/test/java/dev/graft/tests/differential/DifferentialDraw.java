package dev.graft.tests.differential;

import dev.graft.engine.DType;
import dev.graft.engine.Device;
import dev.graft.engine.StateDict;

import java.util.Map;

/**
 * What {@link NetworkDifferential} needs of a draw: float weights and a run that returns the logits, the loss and the
 * trainable parameters' gradients. {@link NetworkDraw} is the ResNet kind, {@link InceptionDraw} a small network
 * with an Inception-style block.
 */
interface DifferentialDraw {

    /** Every value representable in float, so the F32 and F64 models hold the same numbers. */
    StateDict weights();

    /** Runs the draw on {@code device} in {@code dtype}: forward, cross-entropy and, if anything trains, backward. */
    Result run(Device device, DType dtype, StateDict weights);

    /**
     * L such that |loss(z) - loss(z')| <= L max|z - z'| for logits z, z' (Lipschitz in the max-norm), used to carry
     * the tested logits' error into the loss's allowance. Cross-entropy: the gradient of the batch mean in one
     * sample's logits is (softmax - onehot) / N, L1 norm at most 2 / N, so L = 2 (the default).
     */
    default double lossLipschitz() {
        return 2;
    }

    /** Logits, loss and the gradient of every trainable parameter (row-major doubles), in the model's order. */
    record Result(Map<String, double[]> tensors) {
    }
}
