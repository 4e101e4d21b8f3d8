package dev.graft.train;

import dev.graft.loaders.images.DatasetException;
import dev.graft.loaders.images.ImageFolder.Sample;
import dev.graft.models.PrintableText;

import java.util.List;
import java.util.Set;

/**
 * The images left once the unreadable ones were skipped must still be something to learn from or measure: at least
 * one image in the set, and none of its classes emptied. Otherwise training would "succeed" on nothing and write a
 * random-weights best.safetensors, or an evaluation would report figures of no image. Counted from the files the
 * loaders skipped (a file that cannot be decoded is skipped every time), so an image not yet visited counts as
 * usable.
 */
public final class UsableImages {
    private UsableImages() {
    }

    /**
     * Throws a {@link DatasetException} when every image of {@code set} ("training", "validation", "evaluation") was
     * skipped, or every image of one of its classes.
     */
    public static void check(String set, String folder, List<Sample> samples, List<String> classes, Set<String> skipped) {
        if (skipped.isEmpty()) {
            return;
        }
        int[] total = new int[classes.size()];
        int[] bad = new int[classes.size()];
        for (Sample s : samples) {
            total[s.label()]++;
            if (skipped.contains(s.path().toString())) {
                bad[s.label()]++;
            }
        }
        int all = samples.size();
        int unreadable = java.util.Arrays.stream(bad).sum();
        if (unreadable == all) {
            throw new DatasetException("none of the " + all + " " + set + " images in " + folder + " could be read (each was skipped; "
                    + "see the warnings): there is nothing to " + (set.equals("training") ? "train on" : "measure") + "; fix or replace "
                    + "the files");
        }
        for (int c = 0; c < classes.size(); c++) {
            if (total[c] > 0 && bad[c] == total[c]) {
                throw new DatasetException("none of the " + total[c] + " " + set + " images of class '" + PrintableText.escape(classes.get(c))
                        + "' in " + folder + " could be read (each was skipped; see the warnings), so that class has no examples; "
                        + "fix or replace the files, or remove the class folder");
            }
        }
    }
}
