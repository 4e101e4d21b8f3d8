package dev.graft.loaders.images;

import dev.graft.loaders.images.ImageFolder.Sample;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/** Epoch orderings and dataset splits, all determined by a seed. */
public final class Sampling {
    private Sampling() {
    }

    /** How each epoch visits the samples. */
    public enum Order {
        /** In dataset order (evaluation). */
        SEQUENTIAL,
        /** A fresh permutation every epoch. */
        SHUFFLE,
        /**
         * {@code WeightedRandomSampler(1/count[label], len(dataset), replacement=True)}: every class is drawn equally
         * often in expectation, for imbalanced data.
         */
        WEIGHTED
    }

    /** The sample indices epoch {@code epoch} visits, in order. */
    public static int[] epochOrder(Order order, List<Sample> samples, int numClasses, long seed, int epoch) {
        int n = samples.size();
        int[] idx = new int[n];
        for (int i = 0; i < n; i++) {
            idx[i] = i;
        }
        if (order == Order.SEQUENTIAL) {
            return idx;
        }
        SplittableRandom rng = new SplittableRandom(Seeds.mix(seed, 0x5eedL, epoch));
        if (order == Order.SHUFFLE) {
            for (int i = n - 1; i > 0; i--) {
                int j = rng.nextInt(i + 1);
                int t = idx[i];
                idx[i] = idx[j];
                idx[j] = t;
            }
            return idx;
        }
        int[] counts = ImageFolder.countLabels(samples, numClasses);
        double[] cumulative = new double[n];
        double total = 0;
        for (int i = 0; i < n; i++) {
            total += 1.0 / counts[samples.get(i).label()];
            cumulative[i] = total;
        }
        for (int i = 0; i < n; i++) {
            double u = rng.nextDouble() * total;
            int pos = java.util.Arrays.binarySearch(cumulative, u);
            idx[i] = Math.min(n - 1, pos >= 0 ? pos + 1 : -pos - 1);
        }
        return idx;
    }

    /** A train/validation split. */
    public record Split(List<Sample> train, List<Sample> validation) {
    }

    /**
     * Seeded stratified split: each class contributes round(count * fraction) samples to validation (at least 1
     * when the class has 2 or more), so both parts keep the class balance.
     */
    public static Split stratified(List<Sample> samples, int numClasses, double fraction, long seed) {
        if (!(fraction > 0 && fraction < 1)) {
            throw new DatasetException("validation fraction must be in (0, 1), got " + fraction);
        }
        List<Sample> train = new ArrayList<>();
        List<Sample> val = new ArrayList<>();
        SplittableRandom rng = new SplittableRandom(Seeds.mix(seed, 0x5b11L, 0));
        for (int c = 0; c < numClasses; c++) {
            List<Sample> of = new ArrayList<>();
            for (Sample s : samples) {
                if (s.label() == c) {
                    of.add(s);
                }
            }
            for (int i = of.size() - 1; i > 0; i--) {
                int j = rng.nextInt(i + 1);
                Sample t = of.get(i);
                of.set(i, of.get(j));
                of.set(j, t);
            }
            int k = (int) Math.round(of.size() * fraction);
            if (of.size() >= 2) {
                k = Math.max(1, Math.min(of.size() - 1, k));
            } else {
                k = 0;
            }
            val.addAll(of.subList(0, k));
            train.addAll(of.subList(k, of.size()));
        }
        train.sort(java.util.Comparator.comparing(s -> s.path().toString()));
        val.sort(java.util.Comparator.comparing(s -> s.path().toString()));
        return new Split(List.copyOf(train), List.copyOf(val));
    }
}
