package dev.graft.train;

import dev.graft.engine.Tensor;
import dev.graft.models.ClassProbabilities;
import dev.graft.models.ResNet;

/**
 * Test-time augmentation ({@code --tta} in evaluate and predict): each image is classified as given and mirrored
 * left-right, and the two probability vectors are averaged, {@code (softmax(z / T) + softmax(z' / T)) / 2} with the
 * model file's temperature T applied to each view before averaging (as fastai's {@code tta}, which also flips). The
 * mirror is taken of the preprocessed (resized, centre-cropped, normalised) input, so both views see the same pixels.
 */
public final class TestTimeAugmentation {
    private TestTimeAugmentation() {
    }

    /** {@code nchw} mirrored along its last axis (width): column x becomes column w - 1 - x. */
    public static float[] mirror(float[] nchw, int n, int c, int h, int w) {
        float[] out = new float[nchw.length];
        for (int row = 0; row < n * c * h; row++) {
            int base = row * w;
            for (int x = 0; x < w; x++) {
                out[base + x] = nchw[base + w - 1 - x];
            }
        }
        return out;
    }

    /** The logits of the mirrored batch {@code x} (NCHW), run in the caller's scope and grad mode. */
    public static float[] mirroredLogits(ResNet net, Tensor x) {
        int n = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
        Tensor flipped = Tensor.fromArray(net.device(), mirror(x.toFloatArray(), n, c, h, w), n, c, h, w);
        return net.forward(flipped).toFloatArray();
    }

    /** The mean of the two views' probabilities for the image at {@code logits[offset, offset + count)}. */
    public static double[] average(float[] logits, float[] mirroredLogits, int offset, int count, double temperature, String image) {
        double[] a = ClassProbabilities.softmax(logits, offset, count, temperature, image);
        double[] b = ClassProbabilities.softmax(mirroredLogits, offset, count, temperature, image + " (mirrored)");
        double[] p = new double[count];
        for (int j = 0; j < count; j++) {
            p[j] = (a[j] + b[j]) / 2;
        }
        return p;
    }
}
