package dev.graft.loaders.images;

/**
 * What a network gets from a preprocessed image (CHW floats, 3 channels: grayscale images are replicated to RGB
 * before normalisation): all three channels, or for a network adapted to one input channel
 * ({@code ResNet.adaptToGrayscale}) the first normalised channel. Training, {@code graft predict} and the runtime
 * all go through here, so a one-channel model is never fed one thing in training and another in deployment.
 */
public final class InputChannels {
    private InputChannels() {
    }

    /** Copies image {@code chw} (3 x {@code plane} floats) as {@code inChannels} planes into {@code dst} at {@code at}. */
    public static void copy(float[] chw, int plane, int inChannels, float[] dst, int at) {
        if (inChannels != 1 && inChannels != 3) {
            throw new DatasetException("the model takes " + inChannels + " input channels; images give 3 (RGB) or 1 (the first, for "
                    + "a model adapted to grayscale)");
        }
        System.arraycopy(chw, 0, dst, at, inChannels * plane);
    }
}
