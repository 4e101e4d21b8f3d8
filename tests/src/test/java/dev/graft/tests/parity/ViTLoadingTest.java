package dev.graft.tests.parity;

import dev.graft.engine.DType;
import dev.graft.engine.Device;
import dev.graft.engine.Grad;
import dev.graft.engine.Scope;
import dev.graft.engine.Shape;
import dev.graft.engine.StateDict;
import dev.graft.engine.Tensor;
import dev.graft.loaders.LoadOptions;
import dev.graft.loaders.LoadResult;
import dev.graft.loaders.StateDicts;
import dev.graft.models.ModelException;
import dev.graft.models.Parameter;
import dev.graft.models.Topology;
import dev.graft.models.ViTConfig;
import dev.graft.models.VisionTransformer;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Loading the files people have (fixtures from {@code make_vit_fixtures.py}, torch 1.13 / torchvision 0.14): torchvision's
 * legacy MLP names, the official DeiT checkpoint's {@code {"model": ...}} wrapper, position embeddings interpolated
 * for another image size, the full-size key listings (names, order, shapes; recognition), and the freezing units.
 */
class ViTLoadingTest {

    @Test
    void legacyMlpNamesLoadAsTorchvisionDoes() {
        StateDict legacy = StateDicts.read(RawFixture.resourcePath("vit_narrow_legacy.pth"));
        assertTrue(legacy.keys().contains("encoder.layers.encoder_layer_0.mlp.linear_1.weight"), "fixture has legacy names");
        StateDict init = RawFixture.resource("vit_narrow").stateDict("init/");
        ViTConfig config = ViTConfig.parse(RawFixture.resource("vit_narrow").meta().path("config").asText());
        try (VisionTransformer m = VisionTransformer.fromStateDict(legacy, config, Device.REFERENCE)) {
            m.namedState().forEach((k, t) -> assertArrayEquals(init.get(k).floats(), t.toFloatArray(), k));
        }
    }

    @Test
    void officialDeitWrapperIsLookedThrough() {
        LoadResult r = StateDicts.load(RawFixture.resourcePath("deit_narrow_wrapped.pth"), LoadOptions.defaults());
        assertEquals("model", r.selectedKey());
        RawFixture f = RawFixture.resource("deit_narrow");
        ViTConfig config = ViTConfig.parse(f.meta().path("config").asText());
        ViTConfig seen = VisionTransformer.recognize(shapes(r.stateDict()));
        // a state dict does not record the number of heads: a custom width gets 64-wide heads (here 1), so name it
        assertEquals(List.of(ViTConfig.Naming.TIMM, 32, 8, 32, 2, 64, 3), List.of(seen.naming(), seen.imageSize(), seen.patch(),
                seen.hidden(), seen.depth(), seen.mlp(), seen.numClasses()));
        try (VisionTransformer m = VisionTransformer.fromStateDict(r.stateDict(), config, Device.REFERENCE); Scope s = Scope.open()) {
            m.eval();
            try (Grad.Mode off = Grad.off()) {
                Deviation d = Deviation.of("logits", f.get("logits_eval").floats(), m.forward(f.get("input").toTensor(Device.REFERENCE)).toFloatArray());
                assertTrue(d.relative() <= ViTParityTest.LOGITS, d.toString());
            }
        }
    }

    /** torchvision's interpolate_embeddings (bicubic, align_corners=True) at load time: 4x4 grid to 6x6. */
    @Test
    void positionEmbeddingIsInterpolatedForAnotherImageSize() {
        RawFixture resized = RawFixture.resource("vit_resized");
        StateDict init = RawFixture.resource("vit_narrow").stateDict("init/");
        ViTConfig config = ViTConfig.parse(resized.meta().path("config").asText());
        assertEquals(48, config.imageSize());
        try (VisionTransformer m = VisionTransformer.fromStateDict(init, config, Device.REFERENCE); Scope s = Scope.open()) {
            // bicubic weights sum 16 products of O(1) values: 1e-6 relative is F32 rounding, not a method difference
            Deviation pos = Deviation.of("pos_embedding", resized.get("pos_embedding").floats(),
                    m.namedState().get("encoder.pos_embedding").toFloatArray());
            assertTrue(pos.relative() <= 1e-6, pos.toString());
            m.eval();
            try (Grad.Mode off = Grad.off()) {
                Deviation d = Deviation.of("logits", resized.get("logits_eval").floats(),
                        m.forward(resized.get("input").toTensor(Device.REFERENCE)).toFloatArray());
                assertTrue(d.relative() <= ViTParityTest.LOGITS, d.toString());
            }
            Tensor wrong = Tensor.zeros(Device.REFERENCE, DType.F32, 1, 3, 32, 32);
            ModelException e = assertThrows(ModelException.class, () -> m.forward(wrong));
            assertTrue(e.getMessage().contains("[N, 3, 48, 48]"), e.getMessage());
        }
    }

    @Test
    void fullSizeListingsAreRecognised() {
        Map<String, Map<String, Shape>> listing = listing();
        assertEquals(List.of("vit_b_16", "vit_b_32", "vit_l_16", "deit_s"), List.copyOf(listing.keySet()));
        listing.forEach((arch, shapes) -> {
            ViTConfig c = VisionTransformer.recognize(shapes);
            assertEquals(ViTConfig.named(arch, 1000), c, arch);
        });
    }

    /** deit_s built at full size (22M parameters, zeros) has timm's keys, order and shapes. */
    @Test
    void deitSmallHasTimmKeysOrderAndShapes() {
        Map<String, Shape> expected = listing().get("deit_s");
        try (VisionTransformer m = VisionTransformer.allocate(ViTConfig.named("deit_s", 1000), Device.REFERENCE, DType.F32)) {
            Map<String, Shape> actual = new LinkedHashMap<>();
            m.namedState().forEach((k, t) -> actual.put(k, t.shape()));
            assertEquals(List.copyOf(expected.keySet()), List.copyOf(actual.keySet()));
            assertEquals(expected, actual);
            assertEquals(22_050_664L, m.parameterCount()); // timm's deit_small_patch16_224 with a 1000-class head
        }
    }

    @Test
    void unitsAndUnfreezeFrom() {
        ViTConfig config = ViTConfig.parse(RawFixture.resource("deit_narrow").meta().path("config").asText());
        try (VisionTransformer m = VisionTransformer.allocate(config, Device.REFERENCE, DType.F32)) {
            assertEquals(List.of("patch_embed.proj", "blocks.0", "blocks.1", "norm"), m.units().stream().map(Topology.Unit::name).toList());
            assertEquals(List.of("cls_token", "patch_embed.proj", "pos_embed"), m.units().get(0).modules());
            m.unfreezeFrom("blocks.1");
            for (Map.Entry<String, Parameter> e : m.namedParameters().entrySet()) {
                boolean trains = e.getKey().startsWith("blocks.1.") || e.getKey().startsWith("norm.") || e.getKey().startsWith("head.");
                assertEquals(trains, e.getValue().trainable(), e.getKey());
            }
            m.unfreezeFrom("patch_embed.proj");
            assertTrue(m.namedParameters().values().stream().allMatch(Parameter::trainable));
            ModelException e = assertThrows(ModelException.class, () -> m.unfreezeFrom("layer4"));
            assertTrue(e.getMessage().contains("units are [patch_embed.proj, blocks.0, blocks.1, norm]"), e.getMessage());
        }
    }

    @Test
    void replacedHeadKeepsNamesAndOrder() {
        for (String stem : List.of("vit_narrow", "deit_narrow")) {
            RawFixture f = RawFixture.resource(stem);
            ViTConfig config = ViTConfig.parse(f.meta().path("config").asText());
            try (VisionTransformer m = VisionTransformer.fromStateDict(f.stateDict("init/"), config, Device.REFERENCE); Scope s = Scope.open()) {
                List<String> keys = List.copyOf(m.namedState().keySet());
                m.replaceHead(5, 7);
                assertEquals(keys, List.copyOf(m.namedState().keySet()), stem);
                assertEquals(Shape.of(5, 32), m.namedState().get(config.naming().head + ".weight").shape());
                assertEquals(Shape.of(2, 5), m.forward(f.get("input").toTensor(Device.REFERENCE)).shape());
                assertEquals(5, m.config().numClasses());
            }
        }
    }

    /** pytorch-grad-cam's ViT recipe (the last block's first layer norm, tokens on the grid), by hand in torch. */
    @Test
    void gradCamMatchesTheTorchRecipe() {
        RawFixture f = RawFixture.resource("vit_narrow");
        RawFixture cam = RawFixture.resource("vit_cam");
        ViTConfig config = ViTConfig.parse(f.meta().path("config").asText());
        try (VisionTransformer m = VisionTransformer.fromStateDict(f.stateDict("init/"), config, Device.REFERENCE); Scope s = Scope.open()) {
            m.eval();
            int[] classes = f.labels("labels");
            float[][][] maps = m.gradCamCoarse(f.get("input").toTensor(Device.REFERENCE), classes);
            float[] flat = new float[maps.length * 16];
            for (int i = 0; i < maps.length; i++) {
                for (int r = 0; r < 4; r++) {
                    System.arraycopy(maps[i][r], 0, flat, i * 16 + r * 4, 4);
                }
            }
            Deviation d = Deviation.of("cam", cam.get("cam").floats(), flat);
            assertTrue(d.relative() <= 1e-5, d.toString()); // F32 gradients as in ViTParityTest, summed over 32 channels
            assertTrue(m.namedParameters().values().stream().allMatch(p -> p.grad() == null || isZero(p.grad().toFloatArray())),
                    "no parameter gets a gradient");
        }
    }

    private static boolean isZero(float[] v) {
        for (float x : v) {
            if (x != 0) {
                return false;
            }
        }
        return true;
    }

    private static Map<String, Shape> shapes(StateDict s) {
        Map<String, Shape> out = new LinkedHashMap<>();
        s.tensors().forEach((k, v) -> out.put(k, v.shape()));
        return out;
    }

    /** arch -> key -> shape, in file order, from vit_keys.txt.gz (torchvision's state_dict()s; DeiT renamed to timm's). */
    static Map<String, Map<String, Shape>> listing() {
        Map<String, Map<String, Shape>> out = new LinkedHashMap<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(
                new GZIPInputStream(Files.newInputStream(RawFixture.resourcePath("vit_keys.txt.gz"))), StandardCharsets.UTF_8))) {
            for (String line = r.readLine(); line != null; line = r.readLine()) {
                String[] p = line.split(" ");
                int[] dims = p.length < 4 || p[3].isEmpty() ? new int[0]
                        : java.util.Arrays.stream(p[3].split(",")).mapToInt(Integer::parseInt).toArray();
                out.computeIfAbsent(p[0], a -> new LinkedHashMap<>()).put(p[1], Shape.of(dims));
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return out;
    }
}
