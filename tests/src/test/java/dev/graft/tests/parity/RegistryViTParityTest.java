package dev.graft.tests.parity;

import dev.graft.engine.DType;
import dev.graft.engine.Device;
import dev.graft.engine.Functional;
import dev.graft.engine.Grad;
import dev.graft.engine.HostTensor;
import dev.graft.engine.Scope;
import dev.graft.engine.Shape;
import dev.graft.engine.StateDict;
import dev.graft.engine.Tensor;
import dev.graft.loaders.StateDicts;
import dev.graft.models.ArchitectureInference;
import dev.graft.models.GradCam;
import dev.graft.models.Parameter;
import dev.graft.models.ResNet;
import dev.graft.models.ResNetConfig;
import dev.graft.models.ViTConfig;
import dev.graft.models.optim.Sgd;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The plain vision transformers on the architecture registry (a {@link ResNet} holding one {@code Topology.ViT}
 * layer, what train / evaluate / predict / the runtime build) against the torch 1.13 fixtures of
 * {@code make_vit_fixtures.py}: torchvision's names and timm's DeiT names, keys and order, eval and train logits, loss,
 * every gradient, one SGD step; torchvision's legacy MLP names and the official DeiT {@code {"model": ...}} wrapper;
 * a position embedding interpolated for 48 px images. Tolerances are {@link ViTParityTest}'s (relative to torch's
 * largest magnitude, F32: logits and loss 1e-5, gradients 2e-5, SGD step 2e-6; measured there at most 1e-6).
 */
class RegistryViTParityTest {

    @Test
    void torchvisionNamesThroughTheRegistry() {
        replay("vit_narrow", Device.REFERENCE);
    }

    @Test
    void timmNamesThroughTheRegistry() {
        replay("deit_narrow", Device.REFERENCE);
    }

    @Test
    void timmNamesThroughTheRegistryOnCpu() {
        replay("deit_narrow", Device.CPU);
    }

    private static void replay(String stem, Device device) {
        RawFixture f = RawFixture.resource(stem);
        ResNetConfig config = ResNetConfig.vit(ViTConfig.parse(f.meta().path("config").asText()));
        StateDict init = f.stateDict("init/");
        try (ResNet m = ResNet.builder(config).device(device).initialize(false).build(); Scope s = Scope.open()) {
            assertEquals(List.copyOf(init.keys()), List.copyOf(m.namedState().keySet()), "state_dict keys and order");
            m.load(init, true);
            Tensor x = f.get("input").toTensor(device);
            int[] labels = f.labels("labels");
            m.eval();
            try (Grad.Mode off = Grad.off()) {
                check("eval logits", f.get("logits_eval"), m.forward(x), ViTParityTest.LOGITS);
            }
            m.train();
            Tensor logits = m.forward(x);
            check("train logits", f.get("logits_train"), logits, ViTParityTest.LOGITS);
            Tensor loss = Functional.crossEntropy(logits, labels);
            check("loss", f.get("loss_train"), loss, ViTParityTest.LOSS);
            loss.backward();
            Map<String, Parameter> params = m.namedParameters();
            params.forEach((n, p) -> check("grad " + n, f.get("grad/" + n), p.grad(), ViTParityTest.GRADIENTS));
            try (Sgd sgd = Sgd.builder(f.meta().path("lr").asDouble()).momentum(f.meta().path("momentum").asDouble())
                    .weightDecay(f.meta().path("weight_decay").asDouble()).build(m.parameters())) {
                sgd.step();
                params.forEach((n, p) -> check("step " + n, f.get("step/" + n), p.tensor(), ViTParityTest.SGD_STEP));
            }
        }
    }

    @Test
    void legacyMlpNamesAndTheDeitWrapperLoadIntoTheRegistryModel() {
        RawFixture vit = RawFixture.resource("vit_narrow");
        StateDict legacy = StateDicts.read(RawFixture.resourcePath("vit_narrow_legacy.pth"));
        ResNetConfig vitConfig = ResNetConfig.vit(ViTConfig.parse(vit.meta().path("config").asText()));
        // recognised from the legacy keys: torchvision's names; the heads are not in a state dict, the rest is
        ResNetConfig seen = ArchitectureInference.infer(legacy);
        assertTrue(seen.isVit(), seen.toString());
        assertEquals(ViTConfig.Naming.TORCHVISION, seen.vitConfig().naming());
        assertEquals(vitConfig.vitConfig().hidden(), seen.vitConfig().hidden());
        assertEquals(vitConfig.vitConfig().depth(), seen.vitConfig().depth());
        assertEquals(vitConfig.vitConfig().imageSize(), seen.vitConfig().imageSize());
        StateDict init = vit.stateDict("init/");
        try (ResNet m = ResNet.fromStateDict(legacy, vitConfig, Device.REFERENCE)) {
            m.namedState().forEach((k, t) -> assertEquals(0, Deviation.of(k, init.get(k).floats(), t.toFloatArray()).relative(), k));
        }
        RawFixture deit = RawFixture.resource("deit_narrow");
        StateDict wrapped = StateDicts.read(RawFixture.resourcePath("deit_narrow_wrapped.pth"));
        ResNetConfig deitConfig = ResNetConfig.vit(ViTConfig.parse(deit.meta().path("config").asText()));
        assertEquals(ViTConfig.Naming.TIMM, ArchitectureInference.infer(wrapped).vitConfig().naming());
        StateDict deitInit = deit.stateDict("init/");
        try (ResNet m = ResNet.fromStateDict(wrapped, deitConfig, Device.REFERENCE)) {
            m.namedState().forEach((k, t) -> assertEquals(0, Deviation.of(k, deitInit.get(k).floats(), t.toFloatArray()).relative(), k));
        }
    }

    @Test
    void positionEmbeddingIsInterpolatedForAnotherImageSize() {
        RawFixture resized = RawFixture.resource("vit_resized");
        StateDict init = RawFixture.resource("vit_narrow").stateDict("init/");
        ResNetConfig at48 = ResNetConfig.vit(ViTConfig.parse(RawFixture.resource("vit_narrow").meta().path("config").asText()))
                .withImageSize(48);
        assertEquals(ViTConfig.parse(resized.meta().path("config").asText()), at48.vitConfig());
        try (ResNet m = ResNet.fromStateDict(init, at48, Device.REFERENCE); Scope s = Scope.open()) {
            // as ViTLoadingTest: 1e-6 relative is F32 rounding of 16 bicubic products
            Deviation pos = Deviation.of("pos_embedding", resized.get("pos_embedding").floats(),
                    m.namedState().get("encoder.pos_embedding").toFloatArray());
            assertTrue(pos.relative() <= 1e-6, pos.toString());
            m.eval();
            try (Grad.Mode off = Grad.off()) {
                check("logits at 48 px", resized.get("logits_eval"), m.forward(resized.get("input").toTensor(Device.REFERENCE)),
                        ViTParityTest.LOGITS);
            }
        }
    }

    /** Grad-CAM on the registry model (what predict --cam, explain and the training report run) against the torch recipe. */
    @Test
    void gradCamOnTheRegistryModelMatchesTheTorchRecipe() {
        RawFixture f = RawFixture.resource("vit_narrow");
        RawFixture cam = RawFixture.resource("vit_cam");
        ResNetConfig config = ResNetConfig.vit(ViTConfig.parse(f.meta().path("config").asText()));
        try (ResNet m = ResNet.fromStateDict(f.stateDict("init/"), config, Device.REFERENCE); Scope s = Scope.open()) {
            m.eval();
            List<GradCam.Explanation> e = new GradCam(m, GradCam.Method.GRAD_CAM).explain(f.get("input").toTensor(Device.REFERENCE),
                    f.labels("labels"));
            float[] flat = new float[e.size() * 16];
            for (int i = 0; i < e.size(); i++) {
                assertEquals(4, e.get(i).coarse().length);
                for (int r = 0; r < 4; r++) {
                    System.arraycopy(e.get(i).coarse()[r], 0, flat, i * 16 + r * 4, 4);
                }
                assertEquals(32, e.get(i).map().length, "upsampled to the image");
            }
            Deviation d = Deviation.of("cam", cam.get("cam").floats(), flat);
            assertTrue(d.relative() <= 1e-5, d.toString()); // as ViTLoadingTest: F32 gradients summed over 32 channels
            try (Grad.Mode off = Grad.off()) {
                Deviation z = Deviation.of("logits", f.get("logits_eval").floats(), flatten(e));
                assertTrue(z.relative() <= ViTParityTest.LOGITS, z.toString());
            }
            assertTrue(m.namedParameters().values().stream().allMatch(p -> p.grad() == null), "no parameter gets a gradient");
        }
    }

    private static float[] flatten(List<GradCam.Explanation> e) {
        int k = e.get(0).logits().length;
        float[] out = new float[e.size() * k];
        for (int i = 0; i < e.size(); i++) {
            System.arraycopy(e.get(i).logits(), 0, out, i * k, k);
        }
        return out;
    }

    static Map<String, Shape> shapes(StateDict s) {
        Map<String, Shape> out = new LinkedHashMap<>();
        s.tensors().forEach((k, v) -> out.put(k, v.shape()));
        return out;
    }

    private static void check(String what, HostTensor expected, Tensor actual, double tolerance) {
        Deviation d = Deviation.of(what, expected.toFloats(), actual.toFloatArray());
        assertTrue(d.relative() <= tolerance, what + " beyond " + tolerance + ": " + d);
    }
}
