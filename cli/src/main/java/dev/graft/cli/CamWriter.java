package dev.graft.cli;

import dev.graft.engine.GraftException;
import dev.graft.engine.Scope;
import dev.graft.engine.Tensor;
import dev.graft.explain.CamImage;
import dev.graft.loaders.images.FloatImage;
import dev.graft.loaders.images.Preprocessing;
import dev.graft.models.GradCam;
import dev.graft.models.ResNet;
import dev.graft.train.CamOverlay;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/** Computes class activation maps for a batch of preprocessed images and writes one {@link CamImage} PNG per image. */
final class CamWriter {
    private final ResNet net;
    private final GradCam cam;
    private final List<String> classes;
    private final Preprocessing preprocessing;
    private final double alpha;
    private final double temperature;

    /** {@code temperature}: the model file's (captions show the probabilities predict prints). */
    CamWriter(ResNet net, GradCam.Method method, List<String> classes, Preprocessing preprocessing, double alpha, double temperature) {
        this.net = net;
        this.cam = new GradCam(net, method);
        this.classes = classes;
        this.preprocessing = preprocessing;
        this.alpha = alpha;
        this.temperature = temperature;
    }

    /** The network's input batch [N, inChannels, H, W] for images of one size, on the model's device, in the current scope. */
    static Tensor batch(ResNet net, List<FloatImage> imgs) {
        return CamOverlay.batch(net, imgs);
    }

    /**
     * Explains image i of {@code imgs} for class {@code explain[i]} and writes its picture to {@code outputs[i]}
     * (folders created), captioned with {@code names[i]}, the explained class and the model's decision
     * {@code decided[i]} with their probabilities. Returns, per image, null or why it has no picture.
     */
    String[] write(List<FloatImage> imgs, int[] explain, int[] decided, List<String> names, List<Path> outputs) {
        String[] problems = new String[imgs.size()];
        List<GradCam.Explanation> found;
        try (Scope s = Scope.open("cam")) {
            found = cam.explain(batch(net, imgs), explain);
        }
        for (int i = 0; i < imgs.size(); i++) {
            GradCam.Explanation e = found.get(i);
            if (!e.finite()) {
                problems[i] = "no heat map: the model's activations or gradients for this image hold NaN or infinities";
                continue;
            }
            double[] p;
            try {
                p = e.probabilities(temperature, names.get(i));
            } catch (GraftException ex) {
                problems[i] = ex.getMessage();
                continue;
            }
            String title = cam.method() == GradCam.Method.GRAD_CAM ? "Grad-CAM" : "Grad-CAM++";
            String explained = classes.get(e.classIndex());
            String decision = classes.get(decided[i]);
            String line = e.classIndex() == decided[i]
                    ? String.format(Locale.ROOT, "%s for %s, the predicted class (P = %.3f)", title, explained, p[e.classIndex()])
                    : String.format(Locale.ROOT, "%s for %s (P = %.3f); predicted %s (P = %.3f)", title, explained,
                    p[e.classIndex()], decision, p[decided[i]]);
            try {
                Files.createDirectories(outputs.get(i).toAbsolutePath().getParent());
                CamImage.writePng(CamImage.render(imgs.get(i), preprocessing.mean(), preprocessing.std(), e.map(),
                        List.of(names.get(i), line), alpha), outputs.get(i));
            } catch (IOException | UncheckedIOException | GraftException ex) {
                problems[i] = "cannot write " + outputs.get(i) + ": " + ex.getMessage();
            }
        }
        return problems;
    }
}
