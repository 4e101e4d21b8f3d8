package dev.graft.models;

import dev.graft.engine.Functional;
import dev.graft.engine.Grad;
import dev.graft.engine.Scope;
import dev.graft.engine.Tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Class activation maps of a {@link ResNet} on its last convolutional stage ({@link ResNet#featureMap}, the layer its
 * {@link Topology} names: layer4 after its last block, as pytorch-grad-cam's {@code model.layer4[-1]}; for a CBR
 * network the last block's relu output, before its pool), for any class.
 *
 * <p>With A the feature map [K, h, w] of one image and g = d(logit_c)/dA (the pre-softmax score of class c):
 * <ul>
 * <li>{@link Method#GRAD_CAM} (Selvaraju et al. 2017): w_k = mean_ij g_kij; cam = relu(sum_k w_k A_k).</li>
 * <li>{@link Method#GRAD_CAM_PLUS_PLUS} (Chattopadhay et al. 2018), with the exp(score) simplification
 * pytorch-grad-cam uses: a_kij = g^2 / (2 g^2 + (sum_ij A_kij) g^3 + 1e-6), 0 where g = 0;
 * w_k = sum_ij a_kij relu(g_kij); cam = relu(sum_k w_k A_k).</li>
 * </ul>
 * The coarse map [h, w] is upsampled bilinearly to the input's [H, W] (half-pixel centres, as
 * {@code F.interpolate(mode="bilinear", align_corners=False)}) and min-max normalised to [0, 1] (all zeros where
 * the map is flat, e.g. when relu leaves nothing).
 *
 * <p>The backbone runs once with nothing recorded; only avgpool and fc are recorded, on a copy of the feature map
 * that requires grad, with fc's parameters detached: no parameter gets a gradient. The model must be in eval mode
 * (no batch norm using batch statistics), as for prediction. Same thread rules as the model.
 */
public final class GradCam {
    /** Pass in {@code classes} to explain the predicted (highest-logit) class. */
    public static final int PREDICTED = -1;
    /** pytorch-grad-cam's constant in the Grad-CAM++ denominator. */
    static final double PLUS_PLUS_EPS = 1e-6;

    /** How channel weights are computed from the gradients. */
    public enum Method {
        GRAD_CAM("gradcam"), GRAD_CAM_PLUS_PLUS("gradcam++");

        private final String cliName;

        Method(String cliName) {
            this.cliName = cliName;
        }

        /** "gradcam" or "gradcam++", as the command line spells it. */
        public String cliName() {
            return cliName;
        }

        /** The method named {@code name} ({@link #cliName()}, case-insensitive), or null for an unknown name. */
        public static Method parse(String name) {
            for (Method m : values()) {
                if (m.cliName.equals(name.toLowerCase(Locale.ROOT))) {
                    return m;
                }
            }
            return null;
        }
    }

    /**
     * One image's explanation. {@code logits} are the model's logits for the image (as {@link ResNet#forward}),
     * {@code coarse} the relu'd map [h][w] before upsampling and normalisation, {@code map} the map [H][W] at the
     * input's size with values in [0, 1]. {@code finite} is false where the activations or gradients held a NaN or
     * an infinity (an image with NaN pixels): {@code coarse} then shows them and {@code map} is all zeros, so one
     * such image does not cost the rest of its batch their maps.
     */
    public record Explanation(int classIndex, float[] logits, float[][] coarse, float[][] map, boolean finite) {
        /** Softmax of the logits; a {@link NonFiniteOutputException} naming {@code image} where they are not finite. */
        public double[] probabilities(String image) {
            return ClassProbabilities.softmax(logits, 0, logits.length, image);
        }

        /** softmax(logits / {@code temperature}), as predict computes it for a calibrated model file. */
        public double[] probabilities(double temperature, String image) {
            return ClassProbabilities.softmax(logits, 0, logits.length, temperature, image);
        }
    }

    private final ResNet model;
    private final Method method;

    public GradCam(ResNet model, Method method) {
        if (model == null || method == null) {
            throw new ModelException("GradCam needs a model and a method, got " + model + " and " + method);
        }
        this.model = model;
        this.method = method;
    }

    public Method method() {
        return method;
    }

    /** One explanation per image of {@code images} [N, C, H, W] (the model's device and dtype), for its predicted class. */
    public List<Explanation> explain(Tensor images) {
        return explain(images, null);
    }

    /**
     * One explanation per image of {@code images} [N, C, H, W], for {@code classes[i]} ({@link #PREDICTED} for the
     * highest logit); {@code classes} null means predicted for all. Temporaries live in a scope of their own.
     */
    public List<Explanation> explain(Tensor images, int[] classes) {
        int n = images.shape().rank() == 4 ? images.dim(0) : -1;
        if (n < 1) {
            throw new ModelException("Grad-CAM expects images [N, C, H, W] with N >= 1, got " + images.shape());
        }
        if (classes != null && classes.length != n) {
            throw new ModelException("Grad-CAM got " + classes.length + " classes for " + n + " images; give one per image");
        }
        for (Module m : model.namedModules().values()) {
            if (m instanceof BatchNorm2d bn && bn.usesBatchStatistics()) {
                throw new ModelException("Grad-CAM needs the model in eval mode: batch norm '" + bn.path() + "' would normalise "
                        + "with the batch's statistics and update its running ones; call model.eval() first");
            }
        }
        int numClasses = model.config().numClasses();
        if (model.config().isVit()) {
            return explainVit(images, classes);
        }
        try (Scope s = Scope.open("grad-cam")) {
            Tensor a;
            try (Grad.Mode off = Grad.off()) {
                a = model.featureMap(images);
            }
            Tensor probe = a.detach().requiresGrad(true);
            Tensor logits;
            try (Grad.Mode on = Grad.on()) {
                Linear fc = model.fc();
                Tensor pooled = Functional.adaptiveAvgPool2d(probe, 1).flatten(1);
                logits = Functional.linear(pooled, fc.weight().tensor().detach(),
                        fc.bias() == null ? null : fc.bias().tensor().detach());
            }
            float[] z = logits.toFloatArray();
            int[] chosen = new int[n];
            double[] seed = new double[n * numClasses];
            for (int i = 0; i < n; i++) {
                int c = classes == null ? PREDICTED : classes[i];
                if (c == PREDICTED) {
                    c = argmax(z, i * numClasses, numClasses);
                } else if (c < 0 || c >= numClasses) {
                    throw new ModelException("Grad-CAM class index " + c + " for image " + i + " is out of range: the model has "
                            + numClasses + " classes (0.." + (numClasses - 1) + ")");
                }
                chosen[i] = c;
                seed[i * numClasses + c] = 1; // d(sum_i logit_i,c_i)/dA: images do not interact in eval mode
            }
            logits.backward(Tensor.fromArray(logits.device(), logits.dtype(), seed, n, numClasses));
            float[] act = a.toFloatArray();
            float[] grad = probe.grad().toFloatArray();
            int k = a.dim(1);
            int h = a.dim(2);
            int w = a.dim(3);
            List<Explanation> out = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                float[][] coarse = coarseMap(act, grad, i * k * h * w, k, h, w, method);
                float[] imageLogits = java.util.Arrays.copyOfRange(z, i * numClasses, (i + 1) * numClasses);
                float[][] map = upsample(coarse, images.dim(2), images.dim(3));
                boolean finite = normalize(map);
                out.add(new Explanation(chosen[i], imageLogits, coarse, map, finite));
            }
            return out;
        }
    }

    /**
     * A plain vision transformer (its head reads the class token, so there is no spatial map before it): the
     * activations are the last block's first layer norm output without the class token, on the patch grid [C, g, g],
     * as pytorch-grad-cam's ViT recipe takes them ({@code VisionTransformer.gradCamCoarse}); then the same weighting.
     */
    private List<Explanation> explainVit(Tensor images, int[] classes) {
        ViTConfig v = model.config().vitConfig();
        int n = images.dim(0);
        int numClasses = model.config().numClasses();
        for (int i = 0; classes != null && i < n; i++) {
            if (classes[i] != PREDICTED && (classes[i] < 0 || classes[i] >= numClasses)) {
                throw new ModelException("Grad-CAM class index " + classes[i] + " for image " + i + " is out of range: the model has "
                        + numClasses + " classes (0.." + (numClasses - 1) + ")");
            }
        }
        VisionTransformer.Body.Cam cam = model.vitBody().gradCam(model, images, classes, model.fc());
        int g = v.grid();
        int c = v.hidden();
        int tokens = v.tokens();
        List<Explanation> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            float[] act = new float[c * g * g];
            float[] grad = new float[c * g * g];
            for (int p = 1; p < tokens; p++) {
                for (int k = 0; k < c; k++) {
                    act[k * g * g + p - 1] = cam.activations()[(i * tokens + p) * c + k];
                    grad[k * g * g + p - 1] = cam.gradients()[(i * tokens + p) * c + k];
                }
            }
            float[][] coarse = coarseMap(act, grad, 0, c, g, g, method);
            float[][] map = upsample(coarse, images.dim(2), images.dim(3));
            boolean finite = normalize(map);
            out.add(new Explanation(cam.classes()[i], java.util.Arrays.copyOfRange(cam.logits(), i * numClasses, (i + 1) * numClasses),
                    coarse, map, finite));
        }
        return out;
    }

    private static int argmax(float[] v, int offset, int count) {
        int best = 0;
        for (int j = 1; j < count; j++) {
            if (v[offset + j] > v[offset + best]) {
                best = j;
            }
        }
        return best;
    }

    /** relu(sum_k w_k A_k) for one image; A and g [K, h, w] row-major at {@code offset}; computed in double. */
    static float[][] coarseMap(float[] a, float[] g, int offset, int k, int h, int w, Method method) {
        int plane = h * w;
        double[] cam = new double[plane];
        for (int c = 0; c < k; c++) {
            int base = offset + c * plane;
            double weight = 0;
            if (method == Method.GRAD_CAM) {
                for (int p = 0; p < plane; p++) {
                    weight += g[base + p];
                }
                weight /= plane;
            } else {
                double sumA = 0;
                for (int p = 0; p < plane; p++) {
                    sumA += a[base + p];
                }
                for (int p = 0; p < plane; p++) {
                    double gr = g[base + p];
                    if (gr == 0) {
                        continue;
                    }
                    double g2 = gr * gr;
                    double alpha = g2 / (2 * g2 + sumA * g2 * gr + PLUS_PLUS_EPS);
                    weight += alpha * Math.max(gr, 0);
                }
            }
            for (int p = 0; p < plane; p++) {
                cam[p] += weight * a[base + p];
            }
        }
        float[][] out = new float[h][w];
        for (int p = 0; p < plane; p++) {
            out[p / w][p % w] = (float) Math.max(cam[p], 0);
        }
        return out;
    }

    /**
     * Bilinear resize of {@code map} [h][w] to [height][width] with half-pixel centres, as torch's
     * {@code F.interpolate(mode="bilinear", align_corners=False)}: source = (dst + 0.5) * in / out - 0.5, clamped at 0.
     */
    public static float[][] upsample(float[][] map, int height, int width) {
        int h = map.length;
        int w = map[0].length;
        float[][] out = new float[height][width];
        for (int y = 0; y < height; y++) {
            double sy = Math.max((y + 0.5) * h / height - 0.5, 0);
            int y0 = (int) sy;
            int y1 = Math.min(y0 + 1, h - 1);
            double ly = sy - y0;
            for (int x = 0; x < width; x++) {
                double sx = Math.max((x + 0.5) * w / width - 0.5, 0);
                int x0 = (int) sx;
                int x1 = Math.min(x0 + 1, w - 1);
                double lx = sx - x0;
                double top = (1 - lx) * map[y0][x0] + lx * map[y0][x1];
                double bottom = (1 - lx) * map[y1][x0] + lx * map[y1][x1];
                out[y][x] = (float) ((1 - ly) * top + ly * bottom);
            }
        }
        return out;
    }

    /**
     * (v - min) / (max - min) in place; all zeros where the map is flat. Returns false (and zeros the map) where a
     * value is not finite.
     */
    static boolean normalize(float[][] map) {
        double min = Double.POSITIVE_INFINITY;
        double max = Double.NEGATIVE_INFINITY;
        boolean finite = true;
        for (float[] row : map) {
            for (float v : row) {
                finite &= Float.isFinite(v);
                min = Math.min(min, v);
                max = Math.max(max, v);
            }
        }
        double range = max - min;
        for (float[] row : map) {
            for (int x = 0; x < row.length; x++) {
                row[x] = finite && range > 0 ? (float) ((row[x] - min) / range) : 0f;
            }
        }
        return finite;
    }
}
