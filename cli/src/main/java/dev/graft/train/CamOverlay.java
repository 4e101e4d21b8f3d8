package dev.graft.train;

import dev.graft.engine.GraftException;
import dev.graft.engine.Scope;
import dev.graft.engine.Tensor;
import dev.graft.explain.CamImage;
import dev.graft.explain.ColorMap;
import dev.graft.loaders.images.FloatImage;
import dev.graft.loaders.images.ImageDecoder;
import dev.graft.loaders.images.ImagePipeline;
import dev.graft.loaders.images.InputChannels;
import dev.graft.loaders.images.Preprocessing;
import dev.graft.models.GradCam;
import dev.graft.models.ResNet;

import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.List;

/**
 * The heat map of the predicted class over a gallery thumbnail (the top-loss galleries of {@code graft evaluate}
 * and of a training run): the image is preprocessed for evaluation as the prediction saw it, explained by
 * {@link GradCam} on the model (eval mode), and the map, at the model's input size, is resampled to the thumbnail,
 * which shows the same region (resize and centre crop), and blended in the {@link ColorMap#jet} colours. An image
 * that cannot be read again, whose map is not finite, or whose map says nothing about where (the target layer is a
 * single cell, as a ResNet's layer4 is for inputs under 64 pixels, or the map is all zeros: no positive evidence)
 * keeps its plain thumbnail: a uniform tint would only hide the image.
 */
public final class CamOverlay implements Overlay {
    private final ResNet net;
    private final GradCam cam;
    private final ImagePipeline pipeline;
    private final double alpha;
    /** The heat map's weight in the gallery, as in {@code graft explain}'s pictures. */
    public static final double ALPHA = CamImage.DEFAULT_ALPHA;

    public CamOverlay(ResNet net, GradCam.Method method, Preprocessing preprocessing, ImageDecoder.Options decoding, double alpha) {
        this.net = net;
        this.cam = new GradCam(net, method);
        this.pipeline = new ImagePipeline(preprocessing.evaluation(), decoding, w -> { });
        this.alpha = alpha;
    }

    /** The network's input batch [N, inChannels, H, W] for images of one size, on the model's device, in the current scope. */
    public static Tensor batch(ResNet net, List<FloatImage> imgs) {
        FloatImage first = imgs.get(0);
        int channels = net.config().inChannels();
        int plane = first.height() * first.width();
        float[] data = new float[imgs.size() * channels * plane];
        for (int i = 0; i < imgs.size(); i++) {
            InputChannels.copy(imgs.get(i).data(), plane, channels, data, i * channels * plane);
        }
        return Tensor.fromArray(net.device(), data, imgs.size(), channels, first.height(), first.width());
    }

    @Override
    public BufferedImage apply(Path image, BufferedImage thumb, int predictedClass) {
        FloatImage img;
        try {
            img = pipeline.load(image, null);
        } catch (GraftException ex) { // changed on disk since the prediction: the thumbnail says so already
            return thumb;
        }
        GradCam.Explanation e;
        boolean wasTraining = net.isTraining();
        net.eval(); // as the prediction was made
        try (Scope s = Scope.open("cam-overlay")) {
            e = cam.explain(batch(net, List.of(img)), new int[] {predictedClass}).get(0);
        } finally {
            net.train(wasTraining);
        }
        if (!e.finite() || !localises(e)) {
            return thumb;
        }
        float[][] map = GradCam.upsample(e.map(), thumb.getHeight(), thumb.getWidth());
        BufferedImage out = new BufferedImage(thumb.getWidth(), thumb.getHeight(), BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < thumb.getHeight(); y++) {
            for (int x = 0; x < thumb.getWidth(); x++) {
                out.setRGB(x, y, blend(thumb.getRGB(x, y), ColorMap.jetRgb(map[y][x]), alpha));
            }
        }
        return out;
    }

    /** Whether the map can show a place: more than one cell and not all zeros. */
    static boolean localises(GradCam.Explanation e) {
        if (e.coarse().length * (long) e.coarse()[0].length < 2) {
            return false;
        }
        for (float[] row : e.map()) {
            for (float v : row) {
                if (v > 0) {
                    return true;
                }
            }
        }
        return false;
    }

    /** (1 - alpha) x image + alpha x heat, per 8-bit channel, rounded. */
    static int blend(int image, int heat, double alpha) {
        int rgb = 0;
        for (int shift = 16; shift >= 0; shift -= 8) {
            double v = (1 - alpha) * ((image >> shift) & 0xff) + alpha * ((heat >> shift) & 0xff);
            rgb |= Math.max(0, Math.min(255, (int) Math.round(v))) << shift;
        }
        return rgb;
    }
}
