package dev.graft.models;

import java.util.Locale;

/** The residual block of a ResNet: torchvision's {@code BasicBlock} or {@code Bottleneck}. */
public enum BlockType {
    BASIC(BasicBlock.EXPANSION),
    BOTTLENECK(Bottleneck.EXPANSION);

    private final int expansion;

    BlockType(int expansion) {
        this.expansion = expansion;
    }

    /** Output channels = planes * expansion. */
    public int expansion() {
        return expansion;
    }

    public String key() {
        return name().toLowerCase(Locale.ROOT);
    }
}
