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

    /** Logits, loss and the gradient of every trainable parameter (row-major doubles), in the model's order. */
    record Result(Map<String, double[]> tensors) {
    }
}
