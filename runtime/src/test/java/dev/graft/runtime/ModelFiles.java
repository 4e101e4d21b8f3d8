package dev.graft.runtime;

import dev.graft.engine.Device;
import dev.graft.engine.StateDict;
import dev.graft.engine.Tensor;
import dev.graft.loaders.SafeTensors;
import dev.graft.loaders.images.Preprocessing;
import dev.graft.models.BatchNorm2d;
import dev.graft.models.Module;
import dev.graft.models.ResNet;
import dev.graft.models.ResNetConfig;

import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Model files and images for the runtime tests: a ResNet with torchvision's random initialisation plus random
 * batch-norm statistics and affine parameters (so folding changes every weight), saved as safetensors with the
 * metadata the training pipeline writes.
 */
final class ModelFiles {
    private ModelFiles() {
    }

    /** Writes {@code config} with seed {@code seed}, preprocessing at {@code imageSize}, and {@code extra} metadata. */
    static Path write(Path file, ResNetConfig config, long seed, int imageSize, Map<String, String> extra) {
        try (ResNet m = ResNet.builder(config).device(Device.REFERENCE).seed(seed).build()) {
            SplittableRandom r = new SplittableRandom(seed * 31 + 7);
            for (Module mod : m.namedModules().values()) {
                if (mod instanceof BatchNorm2d bn) {
                    int c = bn.numFeatures();
                    set(bn.weight().tensor(), c, r, 0.5, 1.0);
                    set(bn.bias().tensor(), c, r, -0.2, 0.4);
                    set(bn.runningMean(), c, r, -0.2, 0.4);
                    set(bn.runningVar(), c, r, 0.5, 1.0);
                }
            }
            StateDict state = m.stateDict();
            state.metadata().putAll(Preprocessing.imagenet(imageSize).toMetadata());
            state.metadata().putAll(extra);
            SafeTensors.write(file, state);
        }
        return file;
    }

    private static void set(Tensor t, int n, SplittableRandom r, double lo, double width) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (lo + width * r.nextDouble());
        }
        t.data().backend().copyFromHost(t.data(), v);
    }

    /** An RGB image of smooth random blobs (so resizing and cropping matter), {@code w} x {@code h}. */
    static BufferedImage image(int w, int h, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        double fx = 2 + r.nextDouble() * 6;
        double fy = 2 + r.nextDouble() * 6;
        double phase = r.nextDouble() * 6;
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int red = (int) (127.5 + 127.5 * Math.sin(fx * x / w + phase));
                int green = (int) (127.5 + 127.5 * Math.cos(fy * y / h - phase));
                int blue = r.nextInt(256);
                img.setRGB(x, y, (red << 16) | (green << 8) | blue);
            }
        }
        return img;
    }
}
