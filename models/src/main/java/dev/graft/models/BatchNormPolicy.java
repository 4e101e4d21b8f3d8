package dev.graft.models;

import java.util.Locale;

/**
 * What a <em>frozen</em> batch-norm layer does in training mode. PyTorch ties running statistics to
 * {@code train()}/{@code eval()} only, so a "frozen" backbone still drifts (pytorch/pytorch#86590); here the
 * choice is explicit, saved with the model ({@link #metadataValue()}), and not undone by a later
 * {@link Module#train()}.
 *
 * <p>A batch-norm layer is frozen once freeze calls have frozen both its weight and its bias (freezing the
 * layer, its block, a prefix or glob covering both, the whole model, or the two parameters one call at a time);
 * an unfreeze call that selects either of them unfreezes the layer. The layer remembers this itself ({@link BatchNorm2d#isFrozen()}), because under
 * {@link #AFFINE} its weight and bias stay trainable while the layer counts as frozen. Layers that are not
 * frozen always behave as in PyTorch: batch statistics and running-stat updates in training mode.
 *
 * <table>
 *   <caption>Frozen batch-norm layers in training mode</caption>
 *   <tr><th>policy</th><th>normalises with</th><th>running stats, num_batches_tracked</th><th>weight, bias</th></tr>
 *   <tr><td>TRACK</td><td>batch statistics</td><td>updated</td><td>frozen</td></tr>
 *   <tr><td>HOLD</td><td>running statistics</td><td>unchanged</td><td>frozen</td></tr>
 *   <tr><td>AFFINE</td><td>running statistics</td><td>unchanged</td><td>trainable</td></tr>
 * </table>
 */
public enum BatchNormPolicy {
    /** PyTorch's default: running statistics follow {@code train()}/{@code eval()} only. */
    TRACK,
    /**
     * Frozen layers run as in eval mode even when the model is training, and keep their running statistics
     * and counter bit for bit: the usual advice for small (medical) datasets and small batches.
     */
    HOLD,
    /**
     * Frozen layers hold their statistics as under {@link #HOLD} but keep gamma and beta trainable, as fastai's
     * {@code train_bn=True} keeps them trainable inside frozen groups (fastai also lets the statistics update;
     * this policy does not).
     */
    AFFINE;

    /** Held statistics: a frozen layer normalises with, and keeps, its running statistics. */
    public boolean holdsStatistics() {
        return this != TRACK;
    }

    /** Whether a frozen layer's weight and bias stay trainable. */
    public boolean keepsAffineTrainable() {
        return this == AFFINE;
    }

    /** The value written to file metadata ({@code "hold"}). */
    public String metadataValue() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Parses a metadata value or a user's option, case-insensitively. */
    public static BatchNormPolicy parse(String text) {
        for (BatchNormPolicy p : values()) {
            if (p.name().equalsIgnoreCase(text.trim())) {
                return p;
            }
        }
        throw new ModelException("unknown batch-norm policy '" + text + "': expected track, hold or affine");
    }
}
