package dev.graft.reuse;

import dev.graft.loaders.images.DataLayout;
import dev.graft.loaders.images.DatasetException;
import dev.graft.loaders.images.ImageFolder;
import dev.graft.loaders.images.ImageFolder.Sample;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Which images play which part. A split layout ({@link DataLayout}): the k-NN bank is {@code train/}, the queries
 * (k-NN queries, the CKA sample, re-initialisation evaluation) are {@code test/}, else {@code val/}. A plain
 * {@code DIR/CLASS/*} folder: a seeded, per-class 20% hold-out (at least one image of each class) are the queries
 * and the rest the bank.
 */
public record ReuseData(List<String> classes, List<Sample> bank, List<Sample> queries, String description) {
    public static final double HOLD_OUT = 0.2;

    public static ReuseData of(Path data, long seed) {
        DataLayout layout = DataLayout.detect(data);
        ReuseData d;
        if (layout != null) {
            Path q = layout.test() != null ? layout.test() : layout.val();
            if (q == null) {
                throw new DatasetException(data + " is a data-split layout with neither test/ nor val/; the analysis needs one for its queries");
            }
            ImageFolder train = ImageFolder.scan(layout.train());
            ImageFolder queries = ImageFolder.scan(q);
            if (!train.classes().equals(queries.classes())) {
                throw new DatasetException("the class folders of " + layout.train() + " " + train.classes() + " differ from those of "
                        + q + " " + queries.classes());
            }
            d = new ReuseData(train.classes(), train.samples(), queries.samples(),
                    "k-NN bank " + layout.train() + ", queries " + q);
        } else {
            ImageFolder all = ImageFolder.scan(data);
            SplittableRandom r = new SplittableRandom(seed);
            List<Sample> bank = new ArrayList<>(), queries = new ArrayList<>();
            for (int c = 0; c < all.classes().size(); c++) {
                List<Sample> of = new ArrayList<>();
                for (Sample s : all.samples()) {
                    if (s.label() == c) {
                        of.add(s);
                    }
                }
                for (int i = of.size() - 1; i > 0; i--) { // Fisher-Yates
                    int j = r.nextInt(i + 1);
                    Sample t = of.get(i);
                    of.set(i, of.get(j));
                    of.set(j, t);
                }
                int hold = Math.max(1, (int) Math.round(HOLD_OUT * of.size()));
                queries.addAll(of.subList(0, hold));
                bank.addAll(of.subList(hold, of.size()));
            }
            d = new ReuseData(all.classes(), bank, queries, "k-NN bank and queries: a seeded 20% hold-out per class of " + data);
        }
        if (d.classes().size() < 2) {
            throw new DatasetException(data + " has one class (" + d.classes().get(0) + "); k-NN accuracy, AUC and re-initialisation "
                    + "robustness need at least two class folders");
        }
        if (d.bank().isEmpty()) {
            throw new DatasetException(data + " leaves no images for the k-NN bank; give more images per class or a train/ split");
        }
        return d;
    }
}
