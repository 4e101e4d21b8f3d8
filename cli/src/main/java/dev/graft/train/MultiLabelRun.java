package dev.graft.train;

import dev.graft.engine.Functional;
import dev.graft.engine.Grad;
import dev.graft.engine.Scope;
import dev.graft.engine.Tensor;
import dev.graft.loaders.images.Batch;
import dev.graft.loaders.images.DataLoader;
import dev.graft.loaders.images.ImageFolder.Sample;
import dev.graft.loaders.labels.LabeledImage;
import dev.graft.loaders.labels.LabeledSet;
import dev.graft.models.ResNet;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;

/**
 * What makes a training run multi-label; the one training loop ({@link Trainer}) asks it for the loss, the accuracy
 * figure and validation predictions instead of the single-label pieces.
 *
 * <ul>
 *   <li>The network has one output per label; the loss is binary cross-entropy with logits, one sigmoid per output,
 *       averaged over the batch's KNOWN targets (unknown = NaN targets are left out of sum and count;
 *       {@link Functional#bceWithLogits}).</li>
 *   <li>{@code --class-weights}: none; auto, giving each label the positive weight negatives / positives over its
 *       known training targets (torch's {@code pos_weight}, which scales the positive term of the loss; 1 for a label
 *       without positives or negatives); or a comma list of one positive weight per label.</li>
 *   <li>Accuracy (training and validation, a progress figure only): the share of known targets called right at
 *       probability 0.5, averaged per image. The validation AUC of an epoch is the mean per-label AUC
 *       ({@link MultiLabelMetrics#meanAuc}); {@code --monitor auc} and early stopping use it.</li>
 *   <li>Samples reach the image loader as {@link Sample}s of class 0; their targets are looked up by the batch's
 *       sample indices (the loader's and the feature cache's rows are indices into the training or validation
 *       list).</li>
 * </ul>
 */
public final class MultiLabelRun {
    /**
     * Written into the run folder: the labels, the {@link #fingerprint} of the sets, and (when the run came from the
     * command line) the label-CSV options that re-read them, so that {@code --resume} can rebuild the run.
     */
    public static final String MARKER = "multi-label.json";

    private final List<String> labels;
    private final LabeledSet train;
    private final LabeledSet validation;
    private final LabeledSet test;
    private final float[] posWeight;
    /** How to read the sets again (the command line's label options), or null: the run cannot be rebuilt by --resume. */
    private final java.util.Map<String, String> source;

    private MultiLabelRun(LabeledSet train, LabeledSet validation, LabeledSet test, float[] posWeight, java.util.Map<String, String> source) {
        this.labels = train.labels();
        this.train = train;
        this.validation = validation;
        this.test = test;
        this.posWeight = posWeight;
        this.source = source;
    }

    /** This run, recording {@code source} (option name to value) in its marker: what {@code --resume} reads the sets with. */
    public MultiLabelRun withSource(java.util.Map<String, String> source) {
        return new MultiLabelRun(train, validation, test, posWeight, java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(source)));
    }

    java.util.Map<String, String> source() {
        return source;
    }

    /**
     * SHA-256 over the labels, every image's path and targets (train, validation, test) and the positive weights: a
     * resumed run must see exactly the sets it started with, or its continuation would not be the same run.
     */
    public String fingerprint() {
        try {
            java.security.MessageDigest d = java.security.MessageDigest.getInstance("SHA-256");
            java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(4);
            java.util.function.Consumer<String> text = t -> {
                byte[] bytes = t.getBytes(java.nio.charset.StandardCharsets.UTF_8);
                d.update(java.nio.ByteBuffer.allocate(4).putInt(bytes.length).array());
                d.update(bytes);
            };
            labels.forEach(text);
            for (LabeledSet set : java.util.Arrays.asList(train, validation, test)) {
                text.accept(set == null ? "<none>" : "set " + set.images().size());
                for (LabeledImage im : set == null ? List.<LabeledImage>of() : set.images()) {
                    text.accept(im.path().toAbsolutePath().normalize().toString()); // relative or absolute: the same file
                    for (float t : im.targets()) {
                        d.update(b.clear().putInt(Float.floatToIntBits(t)).array());
                    }
                }
            }
            text.accept(posWeight == null ? "<no weights>" : java.util.Arrays.toString(posWeight));
            return java.util.HexFormat.of().formatHex(d.digest());
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }

    /**
     * A run on {@code train}, selecting on {@code validation} and, when not null, testing on {@code test} at the
     * end; the sets must have the same labels in the same order. {@code classWeights}: none, auto or a comma list.
     */
    public static MultiLabelRun of(LabeledSet train, LabeledSet validation, LabeledSet test, String classWeights) {
        for (LabeledSet s : test == null ? List.of(validation) : List.of(validation, test)) {
            if (!s.labels().equals(train.labels())) {
                throw new TrainingException("the labels of " + s.description() + " " + s.labels() + " differ from the training set's "
                        + train.labels() + "; every set of a run needs the same labels in the same order");
            }
        }
        if (train.images().isEmpty() || validation.images().isEmpty()) {
            throw new TrainingException("a multi-label run needs training and validation images; " + (train.images().isEmpty()
                    ? train.description() : validation.description()) + " has none");
        }
        return new MultiLabelRun(train, validation, test, posWeights(train, classWeights), null);
    }

    /** Options of the single-label recipe that have no multi-label meaning are refused by name. */
    static void checkOptions(TrainConfig cfg) {
        List<String> refused = new ArrayList<>();
        if (cfg.sampler().equals("weighted")) {
            refused.add("--sampler weighted (it balances classes; use --class-weights auto for per-label positive weights)");
        }
        if (cfg.labelSmoothing() != 0) {
            refused.add("--label-smoothing (a cross-entropy option)");
        }
        if (cfg.calibrate()) {
            refused.add("--calibrate (temperature scaling of the softmax)");
        }
        if (cfg.positiveClass() != null) {
            refused.add("--positive-class (every label is its own positive class)");
        }
        if (!refused.isEmpty()) {
            throw new OptionException("multi-label training does not take " + String.join(", ", refused) + "; leave "
                    + (refused.size() == 1 ? "it" : "them") + " out");
        }
    }

    static float[] posWeights(LabeledSet train, String spec) {
        int l = train.labels().size();
        if (spec == null || spec.equals("none")) {
            return null;
        }
        float[] w = new float[l];
        if (spec.equals("auto")) {
            int[] pos = new int[l];
            int[] neg = new int[l];
            for (LabeledImage im : train.images()) {
                for (int j = 0; j < l; j++) {
                    float t = im.targets()[j];
                    pos[j] += !Float.isNaN(t) && t >= 0.5f ? 1 : 0;
                    neg[j] += !Float.isNaN(t) && t < 0.5f ? 1 : 0;
                }
            }
            for (int j = 0; j < l; j++) {
                w[j] = pos[j] == 0 || neg[j] == 0 ? 1 : (float) (neg[j] / (double) pos[j]);
            }
            return w;
        }
        String[] parts = spec.split(",");
        if (parts.length != l) {
            throw new TrainingException("--class-weights needs " + l + " positive-class weights (pos_weight, one per label " + train.labels() + "), got '"
                    + spec + "'");
        }
        for (int j = 0; j < l; j++) {
            try {
                w[j] = Float.parseFloat(parts[j].trim());
            } catch (NumberFormatException e) {
                throw new TrainingException("--class-weights: '" + parts[j] + "' is not a number");
            }
            if (!(w[j] >= 0) || Float.isInfinite(w[j])) {
                throw new TrainingException("--class-weights must be finite and >= 0 (0 leaves that label's positive targets out of the loss)");
            }
        }
        return w;
    }

    public List<String> labels() {
        return labels;
    }

    public LabeledSet test() {
        return test;
    }

    LabeledSet validation() {
        return validation;
    }

    /** The positive weights of the loss, or null. */
    float[] posWeight() {
        return posWeight == null ? null : posWeight.clone();
    }

    /** The image lists the loaders read: every image as class 0 (targets come from {@link #targets}). */
    RunData runData() {
        return new RunData(labels, samples(train), samples(validation), -1);
    }

    static List<Sample> samples(LabeledSet set) {
        return set.images().stream().map(im -> new Sample(im.path(), 0)).toList();
    }

    static float[][] targets(LabeledSet set) {
        return set.images().stream().map(LabeledImage::targets).toArray(float[][]::new);
    }

    float[][] trainTargets() {
        return targets(train);
    }

    float[][] validationTargets() {
        return targets(validation);
    }

    /** Row-major [rows.length, L] targets of {@code rows} of {@code set}. */
    private static float[] batchTargets(float[][] set, int[] rows) {
        int l = set.length == 0 ? 0 : set[0].length;
        float[] t = new float[rows.length * l];
        for (int i = 0; i < rows.length; i++) {
            System.arraycopy(set[rows[i]], 0, t, i * l, l);
        }
        return t;
    }

    /** The training loss of a batch whose rows are training samples {@code rows}. */
    Tensor loss(Tensor logits, float[][] targets, int[] rows) {
        return Functional.bceWithLogits(logits, batchTargets(targets, rows), posWeight);
    }

    /** Sum over the batch's images of the share of each image's known targets called right at 0.5 (logit >= 0). */
    static double correct(float[] logits, float[][] targets, int[] rows) {
        int l = targets.length == 0 ? 0 : targets[0].length;
        double sum = 0;
        for (int i = 0; i < rows.length; i++) {
            int known = 0, right = 0;
            for (int j = 0; j < l; j++) {
                float t = targets[rows[i]][j];
                if (!Float.isNaN(t)) {
                    known++;
                    right += (logits[i * l + j] >= 0) == (t >= 0.5f) ? 1 : 0;
                }
            }
            sum += known == 0 ? 0 : right / (double) known;
        }
        return sum;
    }

    /** Accuracy of probabilities (as {@link #correct}, at P >= 0.5) over a whole set. */
    static double accuracy(double[][] probs, float[][] targets, int[] rows) {
        float[] asLogits = new float[probs.length * (probs.length == 0 ? 0 : probs[0].length)];
        int l = probs.length == 0 ? 0 : probs[0].length;
        for (int i = 0; i < probs.length; i++) {
            for (int j = 0; j < l; j++) {
                asLogits[i * l + j] = probs[i][j] >= 0.5 ? 1 : -1;
            }
        }
        return probs.length == 0 ? Double.NaN : correct(asLogits, targets, rows) / probs.length;
    }

    /** The per-image probabilities in row order, for targets looked up by {@link Predictions#sampleIndices()}. */
    static float[][] targetsOf(Predictions p, float[][] targets) {
        float[][] out = new float[p.sampleIndices().length][];
        for (int i = 0; i < out.length; i++) {
            out[i] = targets[p.sampleIndices()[i]];
        }
        return out;
    }

    /** Sigmoid probabilities, in double from the float logits; a non-finite logit names the image. */
    static double[] sigmoid(float[] logits, int offset, int l, String image) {
        return dev.graft.models.ClassProbabilities.sigmoid(logits, offset, l, image);
    }

    /** Accumulates one batch of validation: probabilities, sample indices, and the sum and count of known-target losses. */
    static final class Collector {
        private final float[][] targets;
        private final List<double[]> probs = new ArrayList<>();
        private final List<Integer> idx = new ArrayList<>();
        private double lossSum;
        private long known;

        Collector(float[][] targets) {
            this.targets = targets;
        }

        void add(Tensor logits, int[] rows, java.util.function.IntFunction<String> name) {
            float[] t = batchTargets(targets, rows);
            int k = dev.graft.engine.backend.BinaryCrossEntropy.known(t);
            lossSum += Functional.bceWithLogits(logits, t, null).item() * k; // validation loss: unweighted
            known += k;
            float[] l = logits.toFloatArray();
            int c = logits.dim(1);
            for (int i = 0; i < rows.length; i++) {
                probs.add(sigmoid(l, i * c, c, name.apply(rows[i])));
                idx.add(rows[i]);
            }
        }

        /** Predictions with sigmoid probabilities, class 0 as every label, and the mean BCE over all known targets. */
        Predictions build() {
            return new Predictions(probs.toArray(new double[0][]), new int[probs.size()],
                    idx.stream().mapToInt(Integer::intValue).toArray(), known == 0 ? 0 : lossSum / known);
        }
    }

    /** Eval-mode predictions over every batch of a sequential loader whose samples have {@code targets}. */
    static Predictions predict(ResNet model, DataLoader loader, int inputChannels, float[][] targets, Progress progress) {
        boolean wasTraining = model.isTraining();
        model.eval();
        Collector c = new Collector(targets);
        try (progress; Grad.Mode off = Grad.off()) {
            for (Iterator<Batch> it = loader.epoch(0); it.hasNext(); ) {
                Batch b = it.next();
                try (Scope s = Scope.open("predict")) {
                    c.add(model.forward(Batches.images(b, inputChannels, model.device())), b.sampleIndices(),
                            i -> loader.samples().get(i).path().toString());
                }
                progress.step(b.size());
            }
        } finally {
            model.train(wasTraining);
        }
        return c.build();
    }

    /** One line for the data summary: labels and, per label, positives / known training targets. */
    String describe() {
        StringBuilder b = new StringBuilder();
        for (int j = 0; j < labels.size(); j++) {
            int pos = 0, known = 0;
            for (LabeledImage im : train.images()) {
                float t = im.targets()[j];
                known += Float.isNaN(t) ? 0 : 1;
                pos += !Float.isNaN(t) && t >= 0.5f ? 1 : 0;
            }
            b.append(j == 0 ? "" : ", ").append(labels.get(j)).append(' ').append(pos).append('/').append(known);
        }
        return String.format(Locale.ROOT, "multi-label, %d labels (training positives/known: %s)%s", labels.size(), b,
                posWeight == null ? "" : ", positive weights " + java.util.Arrays.toString(posWeight));
    }
}
