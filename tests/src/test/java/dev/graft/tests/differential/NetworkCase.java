package dev.graft.tests.differential;

import dev.graft.engine.DType;
import dev.graft.engine.Device;
import dev.graft.engine.HostTensor;
import dev.graft.engine.Shape;
import dev.graft.engine.StateDict;
import dev.graft.engine.Tensor;
import dev.graft.models.BatchNormPolicy;
import dev.graft.models.BlockType;
import dev.graft.models.ResNet;
import dev.graft.models.ResNetConfig;

import java.util.Arrays;
import java.util.Map;
import java.util.Random;

/**
 * One draw of the network-level differential harness: a ResNet configuration, a batch, the mode, what is frozen and
 * the batch-norm policy, and a seed for the weights (batch-norm state randomized as a fine-tuned checkpoint has it:
 * running mean ~ N(0, 0.1), running variance ~ U[0.5, 1.5], gamma ~ U[0.5, 1.5], beta ~ N(0, 0.1)), the images and
 * the labels. Every value is a float, so the F32 and F64 models hold exactly the same numbers. A multi-label draw
 * ({@code multiLabel}) has binary cross-entropy as its loss: one output per label, random multi-hot targets with about
 * a fifth unknown (NaN), and, on odd seeds, positive weights in [0.25, 4].
 *
 * @param frozenUpTo {@code null}: everything trains; {@code "all"}: nothing trains (the forward alone is compared,
 *                   through the fused inference plan in eval mode); else a module name for {@code freezeUpTo}
 */
record NetworkCase(ResNetConfig config, int batch, int height, int width, boolean train, String frozenUpTo,
                   BatchNormPolicy policy, long seed, boolean multiLabel) implements NetworkDraw {

    /** A single-label draw (cross-entropy). */
    NetworkCase(ResNetConfig config, int batch, int height, int width, boolean train, String frozenUpTo,
                BatchNormPolicy policy, long seed) {
        this(config, batch, height, width, train, frozenUpTo, policy, seed, false);
    }

    @Override
    public String toString() {
        if (config.isCbr()) {
            return String.format("cbr %s, batch %d x %dx%d, %s, frozen %s, %s, seed %d%s", config.describe(), batch, height, width,
                    train ? "train" : "eval", frozenUpTo == null ? "nothing" : frozenUpTo, policy.metadataValue(), seed,
                    multiLabel ? ", multi-label (bce)" : "");
        }
        return String.format("%s %s layers=%s groups=%d width=%d stem=%d planes=%s classes=%d, batch %d x %dx%d, %s, frozen %s, %s, seed %d%s",
                config.block() == BlockType.BASIC ? "basic" : "bottleneck", "", Arrays.toString(config.layers()),
                config.groups(), config.widthPerGroup(), config.stemChannels(), Arrays.toString(config.planes()),
                config.numClasses(), batch, height, width, train ? "train" : "eval",
                frozenUpTo == null ? "nothing" : frozenUpTo, policy.metadataValue(), seed, multiLabel ? ", multi-label (bce)" : "").replace("  ", " ");
    }

    @Override
    public StateDict weights() {
        Random r = new Random(seed);
        StateDict sd = new StateDict();
        try (ResNet shape = ResNet.builder(config).device(Device.REFERENCE).initialize(false).build()) {
            for (Map.Entry<String, Tensor> e : shape.namedState().entrySet()) {
                String k = e.getKey();
                Shape s = e.getValue().shape();
                if (k.endsWith("num_batches_tracked")) {
                    sd.put(k, HostTensor.of(new long[] {r.nextInt(100)}, s));
                    continue;
                }
                float[] v = new float[s.numel()];
                int fanIn = s.rank() > 1 ? s.numel() / s.dim(0) : 1;
                for (int i = 0; i < v.length; i++) {
                    v[i] = (float) (k.endsWith("running_var") || (k.endsWith(".weight") && s.rank() == 1)
                            ? 0.5 + r.nextDouble()
                            : k.endsWith("running_mean") || (k.endsWith(".bias") && !k.startsWith("fc."))
                            ? 0.1 * r.nextGaussian()
                            : k.startsWith("fc.")
                            ? (2 * r.nextDouble() - 1) / Math.sqrt(fanIn)
                            : r.nextGaussian() * Math.sqrt(2.0 / fanIn)); // conv: kaiming normal, fan-in
                }
                sd.put(k, HostTensor.of(v, s));
            }
        }
        return sd;
    }

    @Override
    public float[] images() {
        Random r = new Random(seed + 1);
        float[] x = new float[batch * config.inChannels() * height * width];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        return x;
    }

    @Override
    public int[] labels() {
        Random r = new Random(seed + 2);
        int[] y = new int[batch];
        for (int i = 0; i < batch; i++) {
            y[i] = r.nextInt(config.numClasses());
        }
        return y;
    }

    @Override
    public float[] bceTargets() {
        if (!multiLabel) {
            return null;
        }
        Random r = new Random(seed + 3);
        float[] t = new float[batch * config.numClasses()];
        for (int i = 0; i < t.length; i++) {
            double u = r.nextDouble();
            t[i] = u < 0.2 ? Float.NaN : u < 0.55 ? 1 : 0;
        }
        return t;
    }

    @Override
    public float[] posWeight() {
        if (!multiLabel || (seed & 1) == 0) {
            return null;
        }
        Random r = new Random(seed + 4);
        float[] w = new float[config.numClasses()];
        for (int j = 0; j < w.length; j++) {
            w[j] = (float) (0.25 + 3.75 * r.nextDouble());
        }
        return w;
    }
}
