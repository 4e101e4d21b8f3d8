package dev.graft.loaders.labels;

import java.util.ArrayList;
import java.util.List;

/** How many images of a set are positive, negative and unknown (NaN) for one label, after the policies. */
public record LabelCount(String label, int positive, int negative, int unknown) {

    /** One count per label of the set, in its order. */
    public static List<LabelCount> of(LabeledSet set) {
        List<LabelCount> out = new ArrayList<>();
        for (int k = 0; k < set.labels().size(); k++) {
            int pos = 0;
            int neg = 0;
            int unk = 0;
            for (LabeledImage im : set.images()) {
                float v = im.targets()[k];
                if (v == 1f) {
                    pos++;
                } else if (v == 0f) {
                    neg++;
                } else {
                    unk++;
                }
            }
            out.add(new LabelCount(set.labels().get(k), pos, neg, unk));
        }
        return out;
    }
}
