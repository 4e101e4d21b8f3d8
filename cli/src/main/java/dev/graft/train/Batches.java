package dev.graft.train;

import dev.graft.engine.Device;
import dev.graft.engine.Tensor;
import dev.graft.loaders.images.Batch;

/** Turns decoded batches into input tensors. */
final class Batches {
    private Batches() {
    }

    /**
     * The batch as an NCHW tensor on {@code device}. The loader always produces RGB (grayscale replicated); a
     * model adapted to one input channel gets the first channel, which equals the others for gray images.
     */
    static Tensor images(Batch b, int inputChannels, Device device) {
        if (inputChannels == b.channels()) {
            return Tensor.fromArray(device, b.images(), b.shape());
        }
        if (inputChannels != 1) {
            throw new TrainingException("the model expects " + inputChannels + " input channels, images have " + b.channels());
        }
        int plane = b.height() * b.width();
        float[] one = new float[b.size() * plane];
        for (int i = 0; i < b.size(); i++) {
            System.arraycopy(b.images(), i * b.channels() * plane, one, i * plane, plane);
        }
        return Tensor.fromArray(device, one, b.size(), 1, b.height(), b.width());
    }
}
