package dev.graft.loaders.images;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What an image goes through before the network, saved with a trained model so a file alone is enough to
 * predict: evaluation is {@code Resize(resizeSize) -> CenterCrop(imageSize) -> Normalize(mean, std)}, as
 * torchvision's ImageNet recipe (resize 256, crop 224).
 */
public record Preprocessing(int imageSize, int resizeSize, float[] mean, float[] std) {

    public static final float[] IMAGENET_MEAN = {0.485f, 0.456f, 0.406f};
    public static final float[] IMAGENET_STD = {0.229f, 0.224f, 0.225f};

    public Preprocessing {
        if (imageSize < 1 || resizeSize < imageSize) {
            throw new DatasetException("image size must be >= 1 and resize size >= image size (got " + imageSize + ", " + resizeSize + ")");
        }
        if (mean.length != 3 || std.length != 3) {
            throw new DatasetException("mean and std need 3 values (RGB)");
        }
        for (float s : std) {
            if (!(s > 0)) {
                throw new DatasetException("std values must be positive");
            }
        }
        mean = mean.clone();
        std = std.clone();
    }

    /** ImageNet statistics, resize by 256/224 of the crop (256 for 224). */
    public static Preprocessing imagenet(int imageSize) {
        return new Preprocessing(imageSize, (int) Math.round(imageSize * 256.0 / 224.0), IMAGENET_MEAN, IMAGENET_STD);
    }

    public Transform evaluation() {
        return Transform.compose(List.of(Transform.resize(resizeSize), Transform.centerCrop(imageSize), Transform.normalize(mean, std)));
    }

    public Transform training(Augmentation aug) {
        List<Transform> steps = new ArrayList<>();
        if (aug.randomResizedCrop()) {
            steps.add(Transform.randomResizedCrop(imageSize, aug.cropScaleMin()));
        } else {
            steps.add(Transform.resize(resizeSize));
            steps.add(Transform.centerCrop(imageSize));
        }
        if (aug.flipProbability() > 0) {
            steps.add(Transform.horizontalFlip(aug.flipProbability()));
        }
        if (aug.rotationDegrees() > 0) {
            steps.add(Transform.rotation(aug.rotationDegrees()));
        }
        steps.add(Transform.normalize(mean, std));
        return Transform.compose(steps);
    }

    /** The metadata keys a model file stores this in; read back (and checked) by {@code dev.graft.models.ModelMetadata}. */
    public Map<String, String> toMetadata() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("graft.image_size", Integer.toString(imageSize));
        m.put("graft.resize_size", Integer.toString(resizeSize));
        m.put("graft.mean", join(mean));
        m.put("graft.std", join(std));
        return m;
    }

    private static String join(float[] v) {
        return String.format(Locale.ROOT, "%s,%s,%s", v[0], v[1], v[2]);
    }
}
