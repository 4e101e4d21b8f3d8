package dev.graft.train;

import dev.graft.engine.Device;
import dev.graft.engine.Tensor;
import dev.graft.loaders.images.Batch;
import dev.graft.loaders.images.InputChannels;

/** Turns decoded batches into input tensors. */
final class Batches {
    private Batches() {
    }

    /**
     * The batch as an NCHW tensor on {@code device}. The loader always produces RGB (grayscale replicated); a model
     * adapted to one input channel gets what {@link InputChannels} gives it, the first normalised channel.
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
        float[] chw = new float[b.channels() * plane];
        for (int i = 0; i < b.size(); i++) {
            System.arraycopy(b.images(), i * b.channels() * plane, chw, 0, chw.length);
            InputChannels.copy(chw, plane, 1, one, i * plane);
        }
        return Tensor.fromArray(device, one, b.size(), 1, b.height(), b.width());
    }
}
