package dev.graft.reuse;

import dev.graft.engine.Device;
import dev.graft.engine.Grad;
import dev.graft.engine.Scope;
import dev.graft.engine.StateDict;
import dev.graft.engine.Tensor;
import dev.graft.loaders.images.Batch;
import dev.graft.loaders.images.DataLoader;
import dev.graft.loaders.images.ImageFolder.Sample;
import dev.graft.loaders.images.InputChannels;
import dev.graft.loaders.images.Sampling;
import dev.graft.loaders.images.Transform;
import dev.graft.models.LayerOutputs;
import dev.graft.models.Parameter;
import dev.graft.models.ResNet;
import dev.graft.train.Metrics;
import dev.graft.train.Predictions;
import dev.graft.train.Progress;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * The four per-layer feature-reuse measures between an initial model M0 and the fine-tuned M1 (same architecture,
 * both in eval mode, M1's preprocessing for both): linear CKA of their activations on a sample of the query images
 * ({@link Cka}), relative weight distance ({@link WeightDistance}), re-initialisation robustness (M1 with one layer
 * reset to M0's parameters and batch-norm buffers, evaluated on the query images) and k-NN accuracy of each
 * layer's globally average-pooled features ({@link NearestNeighbours}, bank against queries).
 */
public final class ReuseAnalysis {
    /** What to compute: the CKA sample size and seed, k-NN's k and temperature, images per forward pass, decoding threads. */
    public record Options(int samples, long seed, int knnK, double knnTemperature, int batchSize, int workers, boolean progress) {
    }

    /** One layer's figures; NaN where a measure does not apply (no parameters, one class). */
    public record LayerResult(String layer, int depth, long width, double ckaDebiased, double ckaBiased, double weightDistance,
                              double reinitAccuracy, double reinitAuc, double accuracyDrop, double aucDrop,
                              double knnBefore, double knnAfter) {
    }

    /** Everything measured, with M1's own accuracy and AUC on the queries. */
    public record Result(List<LayerResult> layers, double accuracy, double auc, int ckaSamples, boolean headCompared,
                         boolean grayscaleSummed) {
    }

    private final Options options;
    private final Consumer<String> log;

    public ReuseAnalysis(Options options, Consumer<String> log) {
        this.options = options;
        this.log = log;
    }

    /**
     * {@code build} makes a fresh copy of M1 on the device each call (the caller closes none of them: this does);
     * {@code before} is M0's state dict. Bank and queries carry labels 0..classes-1.
     */
    public Result run(Supplier<ResNet> build, StateDict before, String beforeName, String afterName, List<Sample> bank,
                      List<Sample> queries, int numClasses, Transform transform) {
        if (queries.size() < 4) {
            throw new ReuseException("the query images number " + queries.size() + "; CKA needs at least 4");
        }
        try (ResNet m1 = build.get(); ResNet m0 = build.get()) {
            String head = ReuseUnits.head(m1);
            StateDict afterState = m1.stateDict();
            InitialWeights.Matched matched = InitialWeights.match(before, afterState, head, beforeName, afterName);
            m0.load(matched.state(), true);
            m0.eval();
            m1.eval();
            List<ReuseUnits.Unit> units = ReuseUnits.of(m1, matched.headComparable());
            int u = units.size();

            Set<Integer> sample = sample(queries.size(), options.samples(), options.seed());
            double[][][] bank0 = new double[u][][], bank1 = new double[u][][], q0 = new double[u][][], q1 = new double[u][][];
            GramMatrix[] g0 = new GramMatrix[u], g1 = new GramMatrix[u];
            long[] width = new long[u];
            double[] ckaU = new double[u], ckaB = new double[u];
            try {
                for (int i = 0; i < u; i++) {
                    g0[i] = new GramMatrix();
                    g1[i] = new GramMatrix();
                }
                log.accept("k-NN bank: features of " + bank.size() + " images under both models");
                pass(m0, bank, transform, units, Set.of(), null, bank0, width, "bank M0");
                pass(m1, bank, transform, units, Set.of(), null, bank1, width, "bank M1");
                log.accept("queries: features of " + queries.size() + " images, activations of " + sample.size() + " of them for CKA");
                pass(m0, queries, transform, units, sample, g0, q0, width, "queries M0");
                pass(m1, queries, transform, units, sample, g1, q1, width, "queries M1");
                for (int i = 0; i < u; i++) {
                    log.accept("CKA of " + units.get(i).name() + " (" + width[i] + " values per image)");
                    double[][] k = g0[i].gram(), l = g1[i].gram();
                    ckaU[i] = Cka.debiased(k, l);
                    ckaB[i] = Cka.biased(k, l);
                }
            } finally {
                for (int i = 0; i < u; i++) {
                    if (g0[i] != null) {
                        g0[i].close();
                    }
                    if (g1[i] != null) {
                        g1[i].close();
                    }
                }
            }
            int[] bankLabels = labels(bank), queryLabels = labels(queries);

            Map<String, float[]> w0 = weights(m0), w1 = weights(m1);
            log.accept("M1 on the queries, then M1 with each layer reset to M0");
            double[] base = evaluate(m1, queries, transform, numClasses, "M1");
            StateDict beforeAsAfter = m0.stateDict();
            List<LayerResult> out = new ArrayList<>();
            for (int i = 0; i < u; i++) {
                ReuseUnits.Unit unit = units.get(i);
                double distance = Double.NaN;
                double[] reset = {Double.NaN, Double.NaN};
                if (unit.hasParameters()) {
                    List<String> names = new ArrayList<>();
                    for (String n : w1.keySet()) {
                        if (unit.owns(n)) {
                            names.add(n);
                        }
                    }
                    distance = WeightDistance.relative(w0, w1, names);
                    try (ResNet copy = build.get()) {
                        StateDict part = new StateDict();
                        for (String key : beforeAsAfter.keys()) {
                            if (unit.owns(key)) {
                                part.put(key, beforeAsAfter.get(key));
                            }
                        }
                        copy.load(part, false);
                        reset = evaluate(copy, queries, transform, numClasses, "reset " + unit.name());
                    }
                }
                double knn0 = NearestNeighbours.accuracy(
                        NearestNeighbours.predict(bank0[i], bankLabels, q0[i], numClasses, options.knnK(), options.knnTemperature()), queryLabels);
                double knn1 = NearestNeighbours.accuracy(
                        NearestNeighbours.predict(bank1[i], bankLabels, q1[i], numClasses, options.knnK(), options.knnTemperature()), queryLabels);
                out.add(new LayerResult(unit.name(), i + 1, width[i], ckaU[i], ckaB[i], distance, reset[0], reset[1],
                        base[0] - reset[0], base[1] - reset[1], knn0, knn1));
            }
            return new Result(out, base[0], base[1], sample.size(), matched.headComparable(), matched.grayscaleSummed());
        }
    }

    /** A seeded choice of {@code k} of {@code n} indices (all when k >= n), by a partial Fisher-Yates shuffle. */
    static Set<Integer> sample(int n, int k, long seed) {
        int[] idx = new int[n];
        for (int i = 0; i < n; i++) {
            idx[i] = i;
        }
        java.util.SplittableRandom r = new java.util.SplittableRandom(seed);
        int m = Math.min(k, n);
        Set<Integer> out = new LinkedHashSet<>();
        for (int i = 0; i < m; i++) {
            int j = i + r.nextInt(n - i);
            int t = idx[i];
            idx[i] = idx[j];
            idx[j] = t;
            out.add(idx[i]);
        }
        return out;
    }

    /** Parameters (not buffers) as host floats, by name. */
    static Map<String, float[]> weights(ResNet m) {
        Map<String, float[]> out = new LinkedHashMap<>();
        for (Map.Entry<String, Parameter> e : m.namedParameters().entrySet()) {
            out.put(e.getKey(), e.getValue().tensor().toFloatArray());
        }
        return out;
    }

    /**
     * Runs {@code model} over {@code samples}: each unit's activation is average-pooled per channel into
     * {@code pooled[unit][sample]}, and flattened into {@code grams[unit]} for the samples in {@code gramRows}
     * (in sample order, the same for both models).
     */
    private void pass(ResNet model, List<Sample> samples, Transform transform, List<ReuseUnits.Unit> units, Set<Integer> gramRows,
                      GramMatrix[] grams, double[][][] pooled, long[] width, String task) {
        Map<String, Integer> byOutput = new HashMap<>();
        for (int i = 0; i < units.size(); i++) {
            byOutput.put(units.get(i).output(), i);
            pooled[i] = new double[samples.size()][];
        }
        int in = model.config().inChannels();
        Device device = model.device();
        try (DataLoader loader = loader(samples, transform); Progress p = Progress.start(task, samples.size(), options.progress());
             Grad.Mode off = Grad.off()) {
            for (Iterator<Batch> it = loader.epoch(0); it.hasNext(); ) {
                Batch b = it.next();
                try (Scope s = Scope.open("reuse")) {
                    Tensor x = images(b, in, device);
                    LayerOutputs.run(model, x, byOutput.keySet(), (path, y) -> {
                        int unit = byOutput.get(path);
                        float[] v = y.toFloatArray();
                        int n = b.size();
                        int d = v.length / n;
                        int c = y.dim(1);
                        int hw = d / c;
                        width[unit] = d;
                        for (int i = 0; i < n; i++) {
                            int sampleIndex = b.sampleIndices()[i];
                            double[] f = new double[c];
                            for (int ch = 0; ch < c; ch++) {
                                double sum = 0;
                                for (int t = 0; t < hw; t++) {
                                    sum += v[i * d + ch * hw + t]; // NCHW, as toFloatArray gives it
                                }
                                f[ch] = sum / hw;
                            }
                            pooled[unit][sampleIndex] = f;
                            if (grams != null && gramRows.contains(sampleIndex)) {
                                grams[unit].add(v, i, d);
                            }
                        }
                    });
                }
                p.step(b.size());
            }
        }
    }

    /** Argmax accuracy and (two classes) ROC AUC of class 1 of {@code model} on {@code samples}. */
    private double[] evaluate(ResNet model, List<Sample> samples, Transform transform, int numClasses, String task) {
        try (DataLoader loader = loader(samples, transform)) {
            Predictions p = Predictions.of(model, loader, model.config().inChannels(), Progress.start(task, samples.size(), options.progress()));
            double auc = numClasses == 2 ? Metrics.rocFor(p.probabilities(), p.labels(), 1).auc() : Double.NaN;
            return new double[] {p.accuracy(), auc};
        }
    }

    private DataLoader loader(List<Sample> samples, Transform transform) {
        int classes = 0;
        for (Sample s : samples) {
            classes = Math.max(classes, s.label() + 1);
        }
        // strict: an unreadable image stops the analysis, so both models always see the same images in the same order
        return new DataLoader(samples, classes, transform, new DataLoader.Options(options.batchSize(), Sampling.Order.SEQUENTIAL, 0,
                options.workers(), options.workers() + 1, false, true), w -> log.accept("warning: " + w));
    }

    /** The batch as NCHW; a one-channel model gets the first normalised channel ({@link InputChannels}), as training did. */
    private static Tensor images(Batch b, int inputChannels, Device device) {
        if (inputChannels == b.channels()) {
            return Tensor.fromArray(device, b.images(), b.shape());
        }
        int plane = b.height() * b.width();
        float[] one = new float[b.size() * plane];
        float[] chw = new float[b.channels() * plane];
        for (int i = 0; i < b.size(); i++) {
            System.arraycopy(b.images(), i * b.channels() * plane, chw, 0, chw.length);
            InputChannels.copy(chw, plane, 1, one, i * plane);
        }
        return Tensor.fromArray(device, one, b.size(), 1, b.height(), b.width());
    }

    private static int[] labels(List<Sample> samples) {
        int[] out = new int[samples.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = samples.get(i).label();
        }
        return out;
    }
}
