package dev.graft.loaders.labels;

import java.util.List;

/**
 * A multi-label data set: label names in training order and one entry per image, each with one target per label.
 *
 * @param labels      label names, in the order of every entry's targets and of the model's outputs
 * @param images      the images
 * @param description where the set came from, for messages and reports (e.g. {@code "CheXpert CSV data/train.csv"})
 */
public record LabeledSet(List<String> labels, List<LabeledImage> images, String description) {

    public LabeledSet {
        labels = List.copyOf(labels);
        images = List.copyOf(images);
        for (LabeledImage image : images) {
            if (image.targets().length != labels.size()) {
                throw new IllegalArgumentException(image.source() + ": " + image.targets().length + " targets for "
                        + labels.size() + " labels");
            }
        }
    }
}
