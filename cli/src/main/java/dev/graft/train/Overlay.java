package dev.graft.train;

import java.awt.image.BufferedImage;
import java.nio.file.Path;

/**
 * Draws over a gallery thumbnail before it is written: a heat map of what the model looked at, say. The thumbnail
 * shows the region the model saw (its resize and centre crop), so a map computed on the model's input lines up with
 * it after scaling to the thumbnail's size.
 */
@FunctionalInterface
public interface Overlay {
    /** Leaves the thumbnail as it is. */
    Overlay NONE = (image, thumb, predictedClass) -> thumb;

    /**
     * The picture to show for {@code image}: {@code thumb} (RGB, may be drawn on and returned) or a new image of the
     * same size. {@code predictedClass} is the class the decision rule chose, the class a heat map would explain.
     */
    BufferedImage apply(Path image, BufferedImage thumb, int predictedClass);
}
