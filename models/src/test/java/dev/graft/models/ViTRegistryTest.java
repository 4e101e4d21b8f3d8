package dev.graft.models;

import dev.graft.engine.DType;
import dev.graft.engine.Device;
import dev.graft.engine.HostTensor;
import dev.graft.engine.Shape;
import dev.graft.engine.StateDict;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The plain vision transformers on the registry: names, configuration lines, recognition of each naming from keys
 * (torchvision's, its legacy MLP names, timm's with and without a {@code model.} wrapper prefix), the freezing units
 * ({@code freezeUpTo(unit)}: which parameters train), the head and its replacement. Narrow widths (hidden 64, so the
 * 64-wide-heads rule of recognition gives the head count back exactly) keep each test well under a second.
 */
class ViTRegistryTest {
    static final ViTConfig TV = ViTConfig.parse("family=vit naming=torchvision image=16 patch=8 hidden=64 depth=3 heads=1 mlp=32 classes=3 in_channels=3");
    static final ViTConfig TIMM = ViTConfig.parse("family=vit naming=timm image=16 patch=8 hidden=64 depth=3 heads=1 mlp=32 classes=3 in_channels=3");

    @Test
    void namedViTsAreRegistryArchitectures() {
        for (String name : ViTConfig.names()) {
            assertTrue(Architectures.names().contains(name), name);
            ResNetConfig c = ResNetConfig.named(name, 5);
            assertTrue(c.isVit() && c.isTransformer(), name);
            assertEquals(name, c.architecture());
            assertEquals(Architectures.VIT, c.family());
            assertEquals(c, ResNetConfig.parse(c.describe()), name);
            assertEquals(c.vitConfig().hidden(), c.featureWidth());
        }
        assertEquals(ResNetConfig.named("deit_s", 2), ResNetConfig.named("deit_small_patch16_224", 2));
        // another image size is the same named network
        assertEquals("vit_b_16", ResNetConfig.named("vit_b_16", 2).withImageSize(384).architecture());
        assertEquals(384, ResNetConfig.parse(ResNetConfig.named("vit_b_16", 2).withImageSize(384).describe()).vitConfig().imageSize());
        assertEquals("custom", ResNetConfig.vit(TV).architecture());
        assertTrue(ResNetConfig.vit(TV).toString().startsWith("ViT("), ResNetConfig.vit(TV).toString());
        assertThrows(ModelException.class, () -> ResNetConfig.named("deit_s", 2).withImageSize(100)); // not a multiple of 16
        // a line from a file is bounded before anything is built
        ModelException big = assertThrows(ModelException.class, () -> ResNetConfig.parse(
                "family=vit naming=timm image=32 patch=8 hidden=64 depth=20000 heads=1 mlp=32 classes=3 in_channels=3"));
        assertTrue(big.getMessage().contains("depth 20000 (at most 64)"), big.getMessage());
    }

    @Test
    void eachNamingIsRecognisedFromItsKeys() {
        for (ViTConfig v : new ViTConfig[] {TV, TIMM}) {
            ResNetConfig c = ResNetConfig.vit(v);
            try (ResNet m = ResNet.builder(c).device(Device.REFERENCE).seed(1).build()) {
                StateDict s = m.stateDict();
                assertEquals(c, ArchitectureInference.infer(s), v.naming() + " keys");
                StateDict wrapped = new StateDict();
                s.tensors().forEach((k, t) -> wrapped.put("model." + k, t));
                assertEquals(c, ArchitectureInference.infer(wrapped), v.naming() + " keys under model.");
                if (v.naming() == ViTConfig.Naming.TORCHVISION) { // torchvision < 0.13 saved mlp.linear_1 / mlp.linear_2
                    StateDict legacy = new StateDict();
                    s.tensors().forEach((k, t) -> legacy.put(k.replace(".mlp.0.", ".mlp.linear_1.").replace(".mlp.3.", ".mlp.linear_2."), t));
                    assertTrue(legacy.keys().contains("encoder.layers.encoder_layer_0.mlp.linear_1.weight"));
                    assertEquals(c, ArchitectureInference.infer(legacy), "legacy keys");
                    try (ResNet back = ResNet.fromStateDict(legacy, c, Device.REFERENCE)) {
                        back.namedState().forEach((k, t) -> assertEquals(s.get(k).toFloats().length, t.numel(), k));
                    }
                }
            }
        }
        Map<String, Shape> truncated = new LinkedHashMap<>(Map.of("cls_token", Shape.of(1, 1, 64)));
        ModelException e = assertThrows(ModelException.class, () -> Architectures.recognize(truncated));
        assertTrue(e.getMessage().contains("not a complete vision transformer"), e.getMessage());
    }

    @Test
    void headNamesFollowTheNamingAndReplaceInPlace() {
        try (ResNet tv = ResNet.builder(ResNetConfig.vit(TV)).device(Device.REFERENCE).seed(1).build();
             ResNet timm = ResNet.builder(ResNetConfig.vit(TIMM)).device(Device.REFERENCE).seed(1).build()) {
            assertEquals("heads.head", tv.topology().fc());
            assertEquals("head", timm.topology().fc());
            String last = tv.namedState().keySet().stream().reduce((a, b) -> b).orElseThrow();
            assertEquals("heads.head.bias", last);
            tv.replaceHead(7, 3);
            assertEquals(Shape.of(7, 64), tv.namedState().get("heads.head.weight").shape());
            assertEquals("heads.head.bias", tv.namedState().keySet().stream().reduce((a, b) -> b).orElseThrow(), "replaced in place");
            assertEquals(7, tv.config().numClasses());
            assertTrue(tv.metadata().get(ResNet.META_CONFIG).startsWith("family=vit naming=torchvision"));
            assertEquals(tv.metadata().get(ResNet.META_CONFIG), tv.metadata().get(VisionTransformer.META_CONFIG));
        }
    }

    /**
     * The units as the seed paper counts them: the embedding (patch convolution, class token, position embedding), each
     * block, the final norm with the head. {@code freezeUpTo(unit)} trains that unit and every later one; the expected
     * sets are written out here from that rule, not derived from the code's unit list.
     */
    @Test
    void unfreezeFromAUnitTrainsExactlyThatUnitAndTheRest() {
        try (ResNet m = ResNet.builder(ResNetConfig.vit(TIMM)).device(Device.REFERENCE).dtype(DType.F32).seed(1).build()) {
            assertEquals(java.util.List.of("patch_embed.proj", "blocks.0", "blocks.1", "blocks.2", "norm"), m.topology().unitNames());
            m.freezeUpTo("blocks.1");
            assertEquals(prefixed(m, "blocks.1.", "blocks.2.", "norm.", "head."), trainable(m));
            m.freezeUpTo("norm");
            assertEquals(prefixed(m, "norm.", "head."), trainable(m));
            m.freezeUpTo("patch_embed.proj");
            assertEquals(m.namedParameters().keySet(), trainable(m), "from the embedding: everything, cls_token and pos_embed too");
        }
        try (ResNet m = ResNet.builder(ResNetConfig.vit(TV)).device(Device.REFERENCE).seed(1).build()) {
            m.freezeUpTo("conv_proj");
            assertTrue(trainable(m).contains("class_token"), "the class token belongs to the embedding unit");
            m.freezeUpTo("encoder.layers.encoder_layer_2");
            assertEquals(prefixed(m, "encoder.layers.encoder_layer_2.", "encoder.ln.", "heads.head."), trainable(m));
            assertFalse(trainable(m).contains("encoder.pos_embedding"));
        }
    }

    @Test
    void aViTHasNoFusedPlanAndRunsUnfusedInEval() {
        try (ResNet m = ResNet.builder(ResNetConfig.vit(TIMM)).device(Device.REFERENCE).seed(1).build()) {
            m.eval();
            ModelException e = assertThrows(ModelException.class, m::inferencePlan);
            assertTrue(e.getMessage().contains("no fused inference plan"), e.getMessage());
            try (dev.graft.engine.Scope s = dev.graft.engine.Scope.open()) {
                HostTensor x = HostTensor.of(new float[2 * 3 * 16 * 16], Shape.of(2, 3, 16, 16));
                assertEquals(Shape.of(2, 3), m.forward(x.toTensor(Device.REFERENCE)).shape());
                ModelException wrong = assertThrows(ModelException.class,
                        () -> m.forward(HostTensor.of(new float[3 * 32 * 32], Shape.of(1, 3, 32, 32)).toTensor(Device.REFERENCE)));
                assertTrue(wrong.getMessage().contains("[N, 3, 16, 16]"), wrong.getMessage());
            }
        }
    }

    /**
     * adaptToGrayscale sums the patch kernels over R, G, B: a gray image then gives the logits the RGB model gives the
     * image replicated to three channels (a linear identity; 1e-5 relative covers float sums taken in another order).
     */
    @Test
    void grayscaleAdaptedViTGivesTheLogitsOfTheReplicatedImage() {
        try (ResNet m = ResNet.builder(ResNetConfig.vit(TV)).device(Device.REFERENCE).seed(1).build();
             dev.graft.engine.Scope s = dev.graft.engine.Scope.open()) {
            m.replaceHead(3, 2); // a non-zero head
            m.eval();
            float[] gray = new float[16 * 16];
            java.util.SplittableRandom r = new java.util.SplittableRandom(9);
            for (int i = 0; i < gray.length; i++) {
                gray[i] = (float) r.nextGaussian();
            }
            float[] rgb = new float[3 * gray.length];
            for (int ch = 0; ch < 3; ch++) {
                System.arraycopy(gray, 0, rgb, ch * gray.length, gray.length);
            }
            float[] want = m.forward(HostTensor.of(rgb, Shape.of(1, 3, 16, 16)).toTensor(Device.REFERENCE)).toFloatArray();
            m.adaptToGrayscale();
            assertEquals(1, m.config().inChannels());
            float[] got = m.forward(HostTensor.of(gray, Shape.of(1, 1, 16, 16)).toTensor(Device.REFERENCE)).toFloatArray();
            double scale = 0;
            for (float v : want) {
                scale = Math.max(scale, Math.abs(v));
            }
            for (int k = 0; k < want.length; k++) {
                assertEquals(want[k], got[k], 1e-5 * scale, "logit " + k);
            }
            assertEquals(1, ResNetConfig.parse(m.config().describe()).inChannels(), "the line records one channel");
        }
    }

    private static Set<String> trainable(ResNet m) {
        Set<String> out = new TreeSet<>();
        m.namedParameters().forEach((k, p) -> {
            if (p.trainable()) {
                out.add(k);
            }
        });
        return out;
    }

    private static Set<String> prefixed(ResNet m, String... prefixes) {
        Set<String> out = new TreeSet<>();
        for (String k : m.namedParameters().keySet()) {
            for (String p : prefixes) {
                if (k.startsWith(p)) {
                    out.add(k);
                }
            }
        }
        return out;
    }
}
