package dev.graft.reuse;

import dev.graft.engine.HostTensor;
import dev.graft.engine.Shape;
import dev.graft.engine.StateDict;

import java.util.Arrays;

/**
 * The initial model M0's tensors laid out as the fine-tuned model M1's: every key of M1 must be in M0 with M1's
 * shape, and M0 may hold nothing else, except that the classification head may differ (fine-tuning replaces it:
 * 1000 ImageNet classes against 2), and an RGB stem convolution is summed over its three input channels where M1
 * takes one (Graft's grayscale adaptation of the same weights). Anything else names the first mismatching key.
 */
public final class InitialWeights {
    /** M0's tensors under M1's keys (M1's own head where the heads differ), and whether the heads could be compared. */
    public record Matched(StateDict state, boolean headComparable, boolean grayscaleSummed) {
    }

    private InitialWeights() {
    }

    public static Matched match(StateDict before, StateDict after, String head, String beforeName, String afterName) {
        StateDict out = new StateDict();
        boolean headComparable = true;
        boolean summed = false;
        for (String key : after.keys()) {
            HostTensor b = before.get(key);
            HostTensor a = after.get(key);
            boolean isHead = head != null && key.startsWith(head + ".");
            if (key.endsWith("num_batches_tracked")) {
                out.put(key, b != null ? b : a); // a counter, not a weight; absent from pre-0.4.1 checkpoints
                continue;
            }
            if (b == null) {
                if (isHead) {
                    headComparable = false;
                    continue;
                }
                throw new ReuseException("the models differ in architecture: '" + key + "' of " + afterName + " is not in "
                        + beforeName + "; give the weights the fine-tuned model started from");
            }
            if (!b.shape().equals(a.shape())) {
                if (isHead) {
                    headComparable = false;
                    continue;
                }
                HostTensor gray = summedToOneChannel(b, a);
                if (gray == null) {
                    throw new ReuseException("the models differ in architecture: '" + key + "' has shape "
                            + Arrays.toString(b.shape().dims()) + " in " + beforeName + " and " + Arrays.toString(a.shape().dims())
                            + " in " + afterName + "; give the weights the fine-tuned model started from");
                }
                b = gray;
                summed = true;
            }
            out.put(key, b);
        }
        for (String key : before.keys()) {
            boolean isHead = head != null && key.startsWith(head + ".");
            if (!after.contains(key) && !isHead && !key.endsWith("num_batches_tracked")) {
                throw new ReuseException("the models differ in architecture: '" + key + "' of " + beforeName + " is not in "
                        + afterName + "; give the weights the fine-tuned model started from");
            }
        }
        if (!headComparable) {
            for (String key : after.keys()) {
                if (key.startsWith(head + ".")) {
                    out.put(key, after.get(key)); // only so the copy loads; the head is left out of every measure
                }
            }
        }
        return new Matched(out, headComparable, summed);
    }

    /** [O, 3, kh, kw] summed over its input channels when {@code target} is [O, 1, kh, kw], else null. */
    private static HostTensor summedToOneChannel(HostTensor rgb, HostTensor target) {
        int[] s = rgb.shape().dims(), t = target.shape().dims();
        if (s.length != 4 || t.length != 4 || s[1] != 3 || t[1] != 1 || s[0] != t[0] || s[2] != t[2] || s[3] != t[3]) {
            return null;
        }
        float[] v = rgb.toFloats();
        int plane = s[2] * s[3];
        float[] out = new float[s[0] * plane];
        for (int o = 0; o < s[0]; o++) {
            for (int c = 0; c < 3; c++) {
                for (int p = 0; p < plane; p++) {
                    out[o * plane + p] += v[(o * 3 + c) * plane + p];
                }
            }
        }
        return HostTensor.of(out, Shape.of(t));
    }
}
