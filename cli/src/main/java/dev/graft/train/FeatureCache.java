package dev.graft.train;

import dev.graft.engine.Grad;
import dev.graft.engine.Scope;
import dev.graft.engine.Tensor;
import dev.graft.loaders.images.Batch;
import dev.graft.loaders.images.DataLoader;
import dev.graft.models.ResNet;

import java.util.Arrays;
import java.util.Iterator;

/**
 * Pooled backbone features of every sample, computed once. Valid only while the whole backbone is frozen, its
 * batch norm holds its statistics (HOLD) and the pipeline has no random augmentation: then the features do
 * not change between epochs and later head epochs cost only the head. Rows are indexed by sample; a sample
 * whose image could not be decoded has no row ({@link #has} false), as the uncached loader would skip it.
 */
final class FeatureCache {
    private final float[][] rows;
    private final int[] labels;
    private final int width;

    private FeatureCache(float[][] rows, int[] labels, int width) {
        this.rows = rows;
        this.labels = labels;
        this.width = width;
    }

    static FeatureCache compute(ResNet model, DataLoader sequential, int inputChannels, Progress progress) {
        int n = sequential.size();
        float[][] rows = new float[n][];
        int[] labels = new int[n];
        Arrays.fill(labels, -1);
        int width = model.config().featureWidth();
        try (Grad.Mode off = Grad.off()) {
            for (Iterator<Batch> it = sequential.epoch(0); it.hasNext(); ) {
                Batch b = it.next();
                try (Scope s = Scope.open("features")) {
                    float[] f = model.features(Batches.images(b, inputChannels, model.device())).toFloatArray();
                    for (int i = 0; i < b.size(); i++) {
                        rows[b.sampleIndices()[i]] = Arrays.copyOfRange(f, i * width, (i + 1) * width);
                        labels[b.sampleIndices()[i]] = b.labels()[i];
                    }
                }
                progress.step(b.size());
            }
        }
        return new FeatureCache(rows, labels, width);
    }

    boolean has(int sample) {
        return rows[sample] != null;
    }

    int width() {
        return width;
    }

    /** The rows of {@code samples} (all present) as one batch [n, width] plus their labels. */
    Batch batch(int[] samples) {
        float[] data = new float[samples.length * width];
        int[] y = new int[samples.length];
        for (int i = 0; i < samples.length; i++) {
            System.arraycopy(rows[samples[i]], 0, data, i * width, width);
            y[i] = labels[samples[i]];
        }
        return new Batch(data, y, samples, width, 1, 1);
    }

    static Tensor tensor(Batch b, dev.graft.engine.Device device) {
        return Tensor.fromArray(device, b.images(), b.size(), b.channels());
    }
}
