package dev.graft.cli;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code graft train --help} says what the default augmentation does and offers the flip-free preset. */
class AugmentHelpTest {
    @Test
    void trainHelpSpellsOutTheDefaultAugmentation() {
        String raw = new CommandLine(new TrainCommand()).getUsageMessage(CommandLine.Help.Ansi.OFF);
        String help = raw.replaceAll("\\s+", " ");
        assertTrue(help.contains("Training augmentation. default (used when the option is absent): random crops of 75-100% of the area"), help);
        assertTrue(help.contains("left-right flips half the time, rotations up to +-10 degrees"), help);
        assertTrue(help.contains("noflip: the same without flips (chest X-rays: a flip puts the heart on the right)"), help);
        String lrFind = new CommandLine(new LrFindCommand()).getUsageMessage(CommandLine.Help.Ansi.OFF).replaceAll("\\s+", " ");
        assertTrue(lrFind.contains("default (when absent), noflip, none"), lrFind);
    }
}
