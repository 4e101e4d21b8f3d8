package dev.graft.train;

import dev.graft.engine.Functional;
import dev.graft.engine.Grad;
import dev.graft.engine.Scope;
import dev.graft.engine.Tensor;
import dev.graft.loaders.images.Batch;
import dev.graft.loaders.images.DataLoader;
import dev.graft.models.ClassProbabilities;
import dev.graft.models.ResNet;
import dev.graft.models.Temperature;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.function.IntFunction;

/**
 * Class probabilities for a whole set (eval mode, no graph), with labels and the mean cross-entropy. A non-finite
 * output is a {@link dev.graft.models.NonFiniteOutputException} naming the image's file.
 */
public record Predictions(double[][] probabilities, int[] labels, int[] sampleIndices, double meanLoss) {

    /**
     * Runs the model in eval mode over every batch of {@code loader}'s epoch 0 (use a sequential loader). Closes
     * {@code progress} when done, so its bar is finished before the caller prints its results.
     */
    public static Predictions of(ResNet model, DataLoader loader, int inputChannels, Progress progress) {
        return of(model, loader, inputChannels, Temperature.NONE, progress);
    }

    /**
     * As {@link #of(ResNet, DataLoader, int, Progress)}, with probabilities softmax(logits / {@code temperature}) and
     * the mean loss the cross-entropy of those probabilities (the calibrated NLL); T = 1 is exactly the plain path.
     */
    public static Predictions of(ResNet model, DataLoader loader, int inputChannels, double temperature, Progress progress) {
        return of(model, loader, inputChannels, temperature, false, progress);
    }

    /**
     * As {@link #of(ResNet, DataLoader, int, double, Progress)}; with {@code tta} each image's probabilities are the
     * mean over itself and its mirror image ({@link TestTimeAugmentation}) and the mean loss is the cross-entropy of
     * those averaged probabilities, {@code -ln p_true}.
     */
    public static Predictions of(ResNet model, DataLoader loader, int inputChannels, double temperature, boolean tta, Progress progress) {
        boolean wasTraining = model.isTraining();
        model.eval();
        List<double[]> probs = new ArrayList<>();
        List<Integer> labels = new ArrayList<>();
        List<Integer> idx = new ArrayList<>();
        double lossSum = 0;
        try (progress; Grad.Mode off = Grad.off()) {
            for (Iterator<Batch> it = loader.epoch(0); it.hasNext(); ) {
                Batch b = it.next();
                try (Scope s = Scope.open("predict")) {
                    Tensor x = Batches.images(b, inputChannels, model.device());
                    Tensor logits = model.forward(x);
                    IntFunction<String> name = i -> loader.samples().get(i).path().toString();
                    if (tta) {
                        lossSum += collectFlipAveraged(logits, TestTimeAugmentation.mirroredLogits(model, x), b, probs, labels, idx,
                                temperature, name);
                    } else {
                        if (temperature == Temperature.NONE) {
                            lossSum += Functional.crossEntropy(logits, b.labels()).item() * b.size();
                        } else {
                            lossSum += TemperatureScaling.nllSum(logits.toFloatArray(), logits.dim(1), b.labels(), temperature);
                        }
                        collect(logits, b, probs, labels, idx, temperature, name);
                    }
                }
                progress.step(b.size());
            }
        } finally {
            model.train(wasTraining);
        }
        return build(probs, labels, idx, lossSum);
    }

    /** Probabilities of each image of {@code b}; {@code name} gives a sample's file, for the error on a non-finite output. */
    static void collect(Tensor logits, Batch b, List<double[]> probs, List<Integer> labels, List<Integer> idx, IntFunction<String> name) {
        collect(logits, b, probs, labels, idx, Temperature.NONE, name);
    }

    static void collect(Tensor logits, Batch b, List<double[]> probs, List<Integer> labels, List<Integer> idx, double temperature,
                        IntFunction<String> name) {
        float[] l = logits.toFloatArray();
        int c = logits.dim(1);
        for (int i = 0; i < b.size(); i++) {
            probs.add(ClassProbabilities.softmax(l, i * c, c, temperature, name.apply(b.sampleIndices()[i])));
            labels.add(b.labels()[i]);
            idx.add(b.sampleIndices()[i]);
        }
    }

    /** Flip-averaged probabilities of each image of {@code b}; returns the sum of their losses, -ln p_true. */
    private static double collectFlipAveraged(Tensor logits, float[] mirrored, Batch b, List<double[]> probs, List<Integer> labels,
                                              List<Integer> idx, double temperature, IntFunction<String> name) {
        float[] l = logits.toFloatArray();
        int c = logits.dim(1);
        double loss = 0;
        for (int i = 0; i < b.size(); i++) {
            double[] p = TestTimeAugmentation.average(l, mirrored, i * c, c, temperature, name.apply(b.sampleIndices()[i]));
            loss -= Math.log(Math.max(p[b.labels()[i]], Double.MIN_NORMAL));
            probs.add(p);
            labels.add(b.labels()[i]);
            idx.add(b.sampleIndices()[i]);
        }
        return loss;
    }

    static Predictions build(List<double[]> probs, List<Integer> labels, List<Integer> idx, double lossSum) {
        int n = probs.size();
        return new Predictions(probs.toArray(new double[0][]), labels.stream().mapToInt(Integer::intValue).toArray(),
                idx.stream().mapToInt(Integer::intValue).toArray(), n == 0 ? Double.NaN : lossSum / n);
    }

    public double accuracy() {
        int ok = 0;
        for (int i = 0; i < labels.length; i++) {
            int best = 0;
            for (int j = 1; j < probabilities[i].length; j++) {
                if (probabilities[i][j] > probabilities[i][best]) {
                    best = j;
                }
            }
            ok += best == labels[i] ? 1 : 0;
        }
        return labels.length == 0 ? Double.NaN : ok / (double) labels.length;
    }
}
