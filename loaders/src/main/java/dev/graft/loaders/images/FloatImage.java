package dev.graft.loaders.images;

/** An image as planar float channels (CHW, row-major), values in [0, 1] until normalised. */
public record FloatImage(int channels, int height, int width, float[] data) {

    public FloatImage {
        if (channels < 1 || height < 1 || width < 1 || data.length != channels * height * width) {
            throw new IllegalArgumentException("image " + channels + "x" + height + "x" + width + " with " + data.length + " values");
        }
    }

    public static FloatImage blank(int channels, int height, int width) {
        return new FloatImage(channels, height, width, new float[channels * height * width]);
    }

    public float get(int c, int y, int x) {
        return data[(c * height + y) * width + x];
    }

    public void set(int c, int y, int x, float v) {
        data[(c * height + y) * width + x] = v;
    }
}
