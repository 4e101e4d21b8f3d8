package dev.graft.tests.differential;

import dev.graft.engine.DType;
import dev.graft.engine.Device;
import dev.graft.engine.Functional;
import dev.graft.engine.Grad;
import dev.graft.engine.Scope;
import dev.graft.engine.StateDict;
import dev.graft.engine.Tensor;
import dev.graft.models.BatchNormPolicy;
import dev.graft.models.Parameter;
import dev.graft.models.ResNet;
import dev.graft.models.ResNetConfig;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What the network-level differential harness runs: a ResNet configuration with its weights, a batch of images with
 * labels, the mode, what is frozen and the batch-norm policy. {@link NetworkCase} draws them from a seed; a torchvision
 * checkpoint can supply them too.
 */
interface NetworkDraw extends DifferentialDraw {
    ResNetConfig config();

    int batch();

    int height();

    int width();

    boolean train();

    /** {@code null}: everything trains; {@code "all"}: nothing does (the forward alone is compared); else a module for freezeUpTo. */
    String frozenUpTo();

    BatchNormPolicy policy();

    @Override
    StateDict weights();

    /** [batch, inChannels, height, width], row-major. */
    float[] images();

    int[] labels();

    /**
     * {@code null}: the loss is cross-entropy on {@link #labels()}; else the draw is multi-label and the loss is binary
     * cross-entropy with logits against these [batch, classes] row-major targets (1, 0, NaN = unknown).
     */
    default float[] bceTargets() {
        return null;
    }

    /** Per-label positive weights of the binary cross-entropy, or {@code null}. */
    default float[] posWeight() {
        return null;
    }

    /**
     * Cross-entropy: 2 ({@link DifferentialDraw#lossLipschitz}). Binary cross-entropy with the masked mean: the loss
     * is (1/K) sum over the K known targets of l(z_ij), and |l'(z)| = |(1-y) sigmoid(z) - p y sigmoid(-z)| <= max(1,
     * p_j) for y in {0, 1}; every known element's gradient is at most max(1, p)/K, K of them, so L = max(1, max_j
     * p_j) (1 without positive weights). Unknown targets have zero gradient.
     */
    @Override
    default double lossLipschitz() {
        if (bceTargets() == null) {
            return 2;
        }
        double l = 1;
        if (posWeight() != null) {
            for (float p : posWeight()) {
                l = Math.max(l, p);
            }
        }
        return l;
    }

    /** Forward, the loss (cross-entropy, or binary cross-entropy for a multi-label draw) and, if anything trains, backward. */
    @Override
    default Result run(Device device, DType dtype, StateDict weights) {
        Map<String, double[]> out = new LinkedHashMap<>();
        try (ResNet m = ResNet.builder(config()).device(device).dtype(dtype).initialize(false).batchNormPolicy(policy()).build();
             Scope scope = Scope.open("differential")) {
            m.load(weights, true);
            if ("all".equals(frozenUpTo())) {
                m.freeze();
            } else if (frozenUpTo() != null) {
                m.freezeUpTo(frozenUpTo());
            }
            m.train(train());
            float[] f = images();
            double[] x = new double[f.length];
            for (int i = 0; i < f.length; i++) {
                x[i] = f[i];
            }
            Tensor images = Tensor.fromArray(device, dtype, x, batch(), config().inChannels(), height(), width());
            boolean trains = !m.trainableParameters().isEmpty();
            Tensor logits;
            try (Grad.Mode g = trains ? Grad.on() : Grad.off()) {
                logits = m.forward(images);
            }
            out.put("logits", logits.toDoubleArray());
            Tensor loss = bceTargets() == null ? Functional.crossEntropy(logits, labels())
                    : Functional.bceWithLogits(logits, bceTargets(), posWeight());
            out.put("loss", loss.toDoubleArray());
            if (trains) {
                loss.backward();
                for (Map.Entry<String, Parameter> e : m.namedParameters().entrySet()) {
                    if (e.getValue().trainable()) {
                        out.put("grad " + e.getKey(), e.getValue().grad().toDoubleArray());
                    }
                }
            }
        }
        return new Result(out);
    }
}
