package dev.graft.tests.parity;

import dev.graft.engine.DType;
import dev.graft.engine.Device;
import dev.graft.engine.Functional;
import dev.graft.engine.Grad;
import dev.graft.engine.HostTensor;
import dev.graft.engine.Scope;
import dev.graft.engine.StateDict;
import dev.graft.engine.Tensor;
import dev.graft.models.Parameter;
import dev.graft.models.ResNet;
import dev.graft.models.ResNetConfig;
import dev.graft.models.optim.Sgd;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Replays a model fixture (see make_parity_fixtures.py for the procedure) on Graft and collects the deviation
 * of every compared tensor, by category. Structural facts (keys, order, shapes, integer counters) are
 * asserted exactly on the way.
 */
final class ModelParity {
    static final String EVAL_LOGITS = "eval logits";
    static final String TRAIN_LOGITS = "train logits";
    static final String LOSS = "loss";
    static final String GRADIENTS = "gradients";
    static final String RUNNING_STATS = "running stats";
    static final String SGD_STEP = "parameters after SGD step";
    static final String WEIGHTED_LOSS = "weighted, smoothed loss";
    static final String WEIGHTED_GRADIENTS = "weighted, smoothed gradients";

    private final Map<String, List<Deviation>> results = new LinkedHashMap<>();

    private ModelParity() {
    }

    static ModelParity run(RawFixture f, ResNetConfig config, Device device) {
        return run(f, config, device, DType.F32);
    }

    /** Replays in {@code dtype} (F64 on the reference backend only). */
    static ModelParity run(RawFixture f, ResNetConfig config, Device device, DType dtype) {
        ModelParity p = new ModelParity();
        p.replay(f, config, device, dtype);
        return p;
    }

    private void replay(RawFixture f, ResNetConfig config, Device device, DType dtype) {
        StateDict init = f.stateDict("init/");
        try (ResNet m = ResNet.builder(config).device(device).dtype(dtype).initialize(false).build(); Scope s = Scope.open()) {
            assertEquals(List.copyOf(init.keys()), List.copyOf(m.namedState().keySet()), "state_dict keys and order");
            m.namedState().forEach((k, t) -> assertEquals(init.get(k).shape(), t.shape(), k));
            m.load(init, true);
            Tensor x = input(f.get("input"), device, dtype);
            int[] labels = f.labels("labels");

            m.eval();
            try (Grad.Mode off = Grad.off()) {
                add(EVAL_LOGITS, "logits_eval", f.get("logits_eval"), m.forward(x));
            }
            m.train();
            Tensor logits = m.forward(x);
            add(TRAIN_LOGITS, "logits_train", f.get("logits_train"), logits);
            Tensor loss = Functional.crossEntropy(logits, labels);
            add(LOSS, "loss_train", f.get("loss_train"), loss);
            loss.backward();
            Map<String, Parameter> params = m.namedParameters();
            params.forEach((n, p) -> add(GRADIENTS, n, f.get("grad/" + n), p.grad()));
            m.namedState().forEach((k, t) -> {
                if (!params.containsKey(k)) {
                    HostTensor expected = f.get("stats/" + k);
                    if (k.endsWith("num_batches_tracked")) {
                        assertArrayEquals(expected.longs(), t.toLongArray(), k);
                    } else {
                        add(RUNNING_STATS, k, expected, t);
                    }
                }
            });
            double lr = f.meta().path("lr").asDouble();
            try (Sgd sgd = Sgd.builder(lr).momentum(f.meta().path("momentum").asDouble())
                    .weightDecay(f.meta().path("weight_decay").asDouble()).build(m.parameters())) {
                sgd.step();
                params.forEach((n, p) -> add(SGD_STEP, n, f.get("step/" + n), p.tensor()));
                sgd.zeroGrad();
            }

            m.load(init, true);
            Tensor wloss = Functional.crossEntropy(m.forward(x), labels, f.get("class_weights").floats(),
                    f.meta().path("label_smoothing").asDouble());
            add(WEIGHTED_LOSS, "weighted_loss", f.get("weighted_loss"), wloss);
            wloss.backward();
            params.forEach((n, p) -> add(WEIGHTED_GRADIENTS, n, f.get("weighted_grad/" + n), p.grad()));
        }
    }

    private static Tensor input(HostTensor x, Device device, DType dtype) {
        if (dtype == DType.F32) {
            return x.toTensor(device);
        }
        float[] f = x.floats();
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return Tensor.fromArray(device, dtype, d, x.shape().dims());
    }

    private void add(String category, String name, HostTensor expected, Tensor actual) {
        results.computeIfAbsent(category, c -> new ArrayList<>()).add(Deviation.of(name, expected.toFloats(), actual.toFloatArray()));
    }

    List<Deviation> deviations(String category) {
        return results.getOrDefault(category, List.of());
    }

    /** The largest relative deviation of a category. */
    Deviation worst(String category) {
        Deviation w = null;
        for (Deviation d : deviations(category)) {
            if (w == null || d.relative() > w.relative()) {
                w = d;
            }
        }
        return w;
    }

    String summary() {
        StringBuilder b = new StringBuilder();
        results.forEach((c, list) -> b.append(String.format("  %-30s %4d tensors, worst %s%n", c, list.size(), worst(c))));
        return b.toString();
    }
}
