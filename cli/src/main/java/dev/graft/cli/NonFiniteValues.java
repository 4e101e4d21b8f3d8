package dev.graft.cli;

import dev.graft.engine.Shape;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Where an array holds NaN and infinities, for {@code graft forward}'s warnings: counts by kind, counts per image (the
 * first dimension), and the first few positions as indices. A NaN in the input is not an error (PyTorch runs it, and
 * comparing with PyTorch is what the command is for), but nobody should meet it first in the logits.
 */
record NonFiniteValues(Shape shape, long nan, long positiveInfinity, long negativeInfinity, Map<Integer, Long> perImage,
                       List<int[]> first) {
    private static final int POSITIONS = 3;
    private static final int IMAGES = 5;

    static NonFiniteValues of(float[] v, Shape shape) {
        long nan = 0;
        long pos = 0;
        long neg = 0;
        Map<Integer, Long> perImage = new TreeMap<>();
        List<int[]> first = new ArrayList<>();
        int perRow = shape.rank() == 0 || shape.dim(0) == 0 ? 1 : Math.max(1, v.length / shape.dim(0));
        for (int i = 0; i < v.length; i++) {
            float x = v[i];
            if (Float.isFinite(x)) {
                continue;
            }
            if (Float.isNaN(x)) {
                nan++;
            } else if (x > 0) {
                pos++;
            } else {
                neg++;
            }
            perImage.merge(i / perRow, 1L, Long::sum);
            if (first.size() < POSITIONS) {
                first.add(index(i, shape));
            }
        }
        return new NonFiniteValues(shape, nan, pos, neg, perImage, first);
    }

    long total() {
        return nan + positiveInfinity + negativeInfinity;
    }

    /**
     * "3 of 1204224 values are not finite (2 NaN, 1 +inf), in images 0 (2) and 3 (1); first at [0, 1, 5, 7], ...".
     * Empty when every value is finite.
     */
    String describe() {
        if (total() == 0) {
            return "";
        }
        StringBuilder b = new StringBuilder();
        b.append(total()).append(" of ").append(shape.numel()).append(total() == 1 ? " value is" : " values are")
                .append(" not finite (").append(kinds()).append(")");
        if (shape.rank() > 1) {
            List<String> images = new ArrayList<>();
            for (Map.Entry<Integer, Long> e : perImage.entrySet()) {
                if (images.size() == IMAGES) {
                    images.add("... " + (perImage.size() - IMAGES) + " more");
                    break;
                }
                images.add(e.getKey() + " (" + e.getValue() + ")");
            }
            b.append(", in ").append(perImage.size() == 1 ? "image " : perImage.size() + " of " + shape.dim(0) + " images: ")
                    .append(String.join(", ", images));
        }
        b.append("; first at ");
        List<String> at = new ArrayList<>();
        for (int[] p : first) {
            at.add(java.util.Arrays.toString(p));
        }
        return b.append(String.join(", ", at)).append(total() > first.size() ? ", ..." : "").toString();
    }

    private String kinds() {
        List<String> k = new ArrayList<>();
        if (nan > 0) {
            k.add(nan + " NaN");
        }
        if (positiveInfinity > 0) {
            k.add(positiveInfinity + " +inf");
        }
        if (negativeInfinity > 0) {
            k.add(negativeInfinity + " -inf");
        }
        return String.join(", ", k);
    }

    /** The row-major multi-index of flat index {@code i}. */
    private static int[] index(int i, Shape shape) {
        int[] idx = new int[shape.rank()];
        for (int d = shape.rank() - 1; d >= 0; d--) {
            int n = Math.max(1, shape.dim(d));
            idx[d] = i % n;
            i /= n;
        }
        return idx;
    }
}
