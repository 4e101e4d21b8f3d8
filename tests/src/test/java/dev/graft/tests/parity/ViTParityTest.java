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
import dev.graft.models.ViTConfig;
import dev.graft.models.VisionTransformer;
import dev.graft.models.optim.Sgd;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A narrow torchvision {@code VisionTransformer} (image 32, patch 8, hidden 32, 2 heads, depth 2, MLP 64, 3 classes)
 * and the same network under timm's DeiT names, against torch 1.13 (fixtures from
 * {@code tests/src/test/fixtures/make_vit_fixtures.py}): state-dict keys and order, eval and train logits, loss,
 * every parameter gradient, one SGD step, the weighted smoothed loss and its gradients.
 *
 * <p>Tolerances (relative to the largest magnitude of torch's tensor), F32 on both sides: logits and loss 1e-5,
 * gradients 2e-5, the SGD step 2e-6. Measured (reference and cpu backends): at most 1e-6 for every tensor, so
 * each budget is 10-20x what was seen; a wrong name, transpose or scale shows as a relative deviation near 1.
 */
class ViTParityTest {
    static final double LOGITS = 1e-5;
    static final double LOSS = 1e-5;
    static final double GRADIENTS = 2e-5;
    static final double SGD_STEP = 2e-6;

    @Test
    void torchvisionNamesOnReference() {
        replay("vit_narrow", Device.REFERENCE);
    }

    @Test
    void timmNamesOnReference() {
        replay("deit_narrow", Device.REFERENCE);
    }

    @Test
    void torchvisionNamesOnCpu() {
        replay("vit_narrow", Device.CPU);
    }

    @Test
    void timmNamesOnCpu() {
        replay("deit_narrow", Device.CPU);
    }

    static void replay(String stem, Device device) {
        replay(RawFixture.resource(stem), device);
    }

    static void replay(RawFixture f, Device device) {
        ViTConfig config = ViTConfig.parse(f.meta().path("config").asText());
        StateDict init = f.stateDict("init/");
        List<String> report = new ArrayList<>();
        try (VisionTransformer m = VisionTransformer.allocate(config, device, DType.F32); Scope s = Scope.open()) {
            assertEquals(List.copyOf(init.keys()), List.copyOf(m.namedState().keySet()), "state_dict keys and order");
            m.namedState().forEach((k, t) -> assertEquals(init.get(k).shape(), t.shape(), k));
            m.load(init, true);
            Tensor x = f.get("input").toTensor(device);
            int[] labels = f.labels("labels");

            m.eval();
            try (Grad.Mode off = Grad.off()) {
                check(report, "eval logits", f.get("logits_eval"), m.forward(x), LOGITS);
            }
            m.train();
            Tensor logits = m.forward(x);
            check(report, "train logits", f.get("logits_train"), logits, LOGITS);
            Tensor loss = Functional.crossEntropy(logits, labels);
            check(report, "loss", f.get("loss_train"), loss, LOSS);
            loss.backward();
            Map<String, Parameter> params = m.namedParameters();
            params.forEach((n, p) -> check(report, "grad " + n, f.get("grad/" + n), p.grad(), GRADIENTS));
            try (Sgd sgd = Sgd.builder(f.meta().path("lr").asDouble()).momentum(f.meta().path("momentum").asDouble())
                    .weightDecay(f.meta().path("weight_decay").asDouble()).build(m.parameters())) {
                sgd.step();
                params.forEach((n, p) -> check(report, "step " + n, f.get("step/" + n), p.tensor(), SGD_STEP));
                sgd.zeroGrad();
            }
            m.load(init, true);
            Tensor wloss = Functional.crossEntropy(m.forward(x), labels, f.get("class_weights").floats(),
                    f.meta().path("label_smoothing").asDouble());
            check(report, "weighted loss", f.get("weighted_loss"), wloss, LOSS);
            wloss.backward();
            params.forEach((n, p) -> check(report, "weighted grad " + n, f.get("weighted_grad/" + n), p.grad(), GRADIENTS));
        }
        double worst = 0;
        String worstLine = "";
        for (String line : report) {
            double r = Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            if (r >= worst) {
                worst = r;
                worstLine = line;
            }
        }
        System.out.println(f.meta().path("config").asText() + " on " + device + ": " + report.size() + " tensors, worst " + worstLine);
    }

    private static void check(List<String> report, String what, HostTensor expected, Tensor actual, double tolerance) {
        Deviation d = Deviation.of(what, expected.toFloats(), actual.toFloatArray());
        assertTrue(d.relative() <= tolerance, what + " beyond " + tolerance + ": " + d);
        report.add(what + " relative " + d.relative());
    }
}
