package dev.graft.loaders.images;

/** A decoded batch: images NCHW row-major, their labels, and which dataset samples they are. */
public record Batch(float[] images, int[] labels, int[] sampleIndices, int channels, int height, int width) {

    public int size() {
        return labels.length;
    }

    public int[] shape() {
        return new int[] {labels.length, channels, height, width};
    }
}
