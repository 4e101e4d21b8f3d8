package dev.graft.models;

import java.util.Arrays;

/**
 * Class probabilities from one image's logits: softmax in double with the maximum subtracted (as
 * {@code torch.softmax}), shared by {@code graft predict}, {@code graft evaluate}, training's validation and the
 * runtime's {@code Classifier}. A logit that is NaN or infinite (weights that hold NaN, an overflow) is a
 * {@link NonFiniteOutputException} naming the image: such an output has no meaningful probabilities, and deciding on
 * it anyway gives a confident-looking answer (NaN compares false, so the rule would pick a class by accident). With
 * finite logits every probability is finite and they sum to 1, so checking the logits is enough.
 */
public final class ClassProbabilities {
    private ClassProbabilities() {
    }

    /**
     * One sigmoid per output of a multi-label model ({@link DecisionRule.PerLabel}): {@code 1 / (1 + exp(-z))} in
     * double for {@code logits[offset, offset + count)}, exp taken where it cannot overflow; a non-finite logit is a
     * {@link NonFiniteOutputException} naming {@code image}, as for the softmax.
     */
    public static double[] sigmoid(float[] logits, int offset, int count, String image) {
        double[] p = new double[count];
        for (int j = 0; j < count; j++) {
            float z = logits[offset + j];
            if (!Float.isFinite(z)) {
                throw new NonFiniteOutputException(image + ": the model's output is not finite (logits "
                        + Arrays.toString(Arrays.copyOfRange(logits, offset, offset + count)) + "), so no label can be decided; "
                        + "the model's weights or preprocessing yield NaN or infinity for this image (check the model file, "
                        + "e.g. with 'graft inspect', or retrain it)");
            }
            p[j] = z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
        }
        return p;
    }

    /** Softmax of {@code logits[offset, offset + count)}, the output for {@code image} (a file name, "image 3"). */
    public static double[] softmax(float[] logits, int offset, int count, String image) {
        return softmax(logits, offset, count, Temperature.NONE, image);
    }

    /**
     * {@code softmax(logits / temperature)} ({@link Temperature}; 1 is the plain softmax, computed exactly as without
     * it): {@code exp((z_j - max) / T)} normalised, in double.
     */
    public static double[] softmax(float[] logits, int offset, int count, double temperature, String image) {
        if (!(temperature > 0) || Double.isInfinite(temperature)) {
            throw new IllegalArgumentException("temperature " + temperature + " is not a positive finite number");
        }
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < count; j++) {
            float v = logits[offset + j];
            if (!Float.isFinite(v)) {
                throw new NonFiniteOutputException(image + ": the model's output is not finite (logits "
                        + Arrays.toString(Arrays.copyOfRange(logits, offset, offset + count)) + "), so no class can be decided; "
                        + "the model's weights or preprocessing yield NaN or infinity for this image (check the model file, "
                        + "e.g. with 'graft inspect', or retrain it)");
            }
            max = Math.max(max, v);
        }
        double[] p = new double[count];
        double sum = 0;
        for (int j = 0; j < count; j++) {
            p[j] = temperature == Temperature.NONE ? Math.exp(logits[offset + j] - max) : Math.exp((logits[offset + j] - max) / temperature);
            sum += p[j];
        }
        for (int j = 0; j < count; j++) {
            p[j] /= sum;
        }
        return p;
    }
}
