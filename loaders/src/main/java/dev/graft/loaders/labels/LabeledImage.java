package dev.graft.loaders.labels;

import java.nio.file.Path;

/**
 * One image of a multi-label data set.
 *
 * @param path    the image file
 * @param targets one value per label of the set: 1 positive, 0 negative, {@code NaN} unknown (left out of the loss
 *                and of that label's metrics); uncertainty and blank policies are already applied
 * @param patient the patient id, or {@code null} when the set does not know it
 * @param source  where the image was described, for error messages (e.g. {@code "train.csv line 17"})
 */
public record LabeledImage(Path path, float[] targets, String patient, String source) {
}
