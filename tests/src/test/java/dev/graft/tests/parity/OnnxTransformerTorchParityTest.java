package dev.graft.tests.parity;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.graft.cli.GraftCli;
import dev.graft.engine.HostTensor;
import dev.graft.engine.StateDict;
import dev.graft.loaders.SafeTensors;
import dev.graft.models.ResNet;
import dev.graft.models.ResNetConfig;
import dev.graft.models.SwinConfig;
import dev.graft.models.ViTConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code graft export --onnx} of the narrow vision transformers of {@code make_vit_fixtures.py} and the narrow Swin
 * Transformers of the Swin fixtures (torch 1.13 / torchvision 0.14 eval logits, independent of Graft): the exported file, run by ONNX Runtime on the fixture's input,
 * gives torch's eval logits within {@value #TOLERANCE} of the largest one. Why 1e-4: float32 on both sides with
 * different summation orders (Graft's own forward matches these fixtures to 1e-5, {@link ViTParityTest}); a wrong op
 * or layout is off by far more: with the attention scale left out the DeiT case failed at 0.70, with the shift mask
 * left out the padded Swin case at 0.23 (measured here; the passing runs are 1e-6 or less). The 48 px case is the 32 px weights with the position embedding interpolated by Graft
 * when the file loads, against torchvision's {@code interpolate_embeddings} at 48 px.
 */
class OnnxTransformerTorchParityTest {
    private static final double TOLERANCE = 1e-4;

    @TempDir
    Path tmp;

    @Test
    void torchvisionNames() throws Exception {
        RawFixture f = RawFixture.resource("vit_narrow");
        check(f.stateDict("init/"), vit(f), f, "vit");
    }

    @Test
    void timmDeiTNames() throws Exception {
        RawFixture f = RawFixture.resource("deit_narrow");
        check(f.stateDict("init/"), vit(f), f, "deit");
    }

    @Test
    void positionEmbeddingInterpolatedFor48Pixels() throws Exception {
        RawFixture narrow = RawFixture.resource("vit_narrow");
        RawFixture resized = RawFixture.resource("vit_resized");
        check(narrow.stateDict("init/"), vit(resized), resized, "vit48");
    }

    /** 36 px: a 9 x 9 map in windows of 4 (padding, the shift and its mask, an odd map into the patch merging). */
    @Test
    void swinWithPaddedWindows() throws Exception {
        RawFixture f = RawFixture.resource("swin_pad");
        check(f.stateDict("init/"), ResNetConfig.swin(SwinConfig.parse(f.meta().path("config").asText())), f, "swin_pad");
    }

    /** 56 px: a 14 x 14 map in windows of 7, then 7 x 7 (one window: no shift). */
    @Test
    void swinWithWindowsOfSeven() throws Exception {
        RawFixture f = RawFixture.resource("swin_w7");
        check(f.stateDict("init/"), ResNetConfig.swin(SwinConfig.parse(f.meta().path("config").asText())), f, "swin_w7");
    }

    private static ResNetConfig vit(RawFixture f) {
        return ResNetConfig.vit(ViTConfig.parse(f.meta().path("config").asText()));
    }

    private void check(StateDict weights, ResNetConfig config, RawFixture f, String stem) throws Exception {
        StateDict sd = new StateDict();
        weights.keys().forEach(k -> sd.put(k, weights.get(k)));
        sd.metadata().put(ResNet.META_ARCHITECTURE, config.architecture());
        sd.metadata().put(ResNet.META_CONFIG, config.describe());
        String size = Integer.toString(f.get("input").shape().dim(3));
        sd.metadata().put("graft.image_size", size); // a Swin graph is exported at the trained size
        sd.metadata().put("graft.resize_size", size);
        Path model = tmp.resolve(stem + ".safetensors");
        SafeTensors.write(model, sd);
        Path onnx = tmp.resolve(stem + ".onnx");
        assertEquals(0, GraftCli.execute("export", "--model", model.toString(), "--onnx", onnx.toString()));

        HostTensor input = f.get("input");
        float[] expected = f.get("logits_eval").floats();
        long[] dims = new long[input.shape().rank()];
        for (int i = 0; i < dims.length; i++) {
            dims[i] = input.shape().dim(i);
        }
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        float[][] actual;
        try (OrtSession s = env.createSession(onnx.toString(), new OrtSession.SessionOptions());
             OnnxTensor x = OnnxTensor.createTensor(env, FloatBuffer.wrap(input.floats()), dims);
             OrtSession.Result out = s.run(Map.of("input", x))) {
            actual = (float[][]) out.get("logits").orElseThrow().getValue();
        }
        int k = expected.length / actual.length;
        double worst = 0;
        double spread = 0;
        for (int i = 0; i < actual.length; i++) {
            for (int j = 0; j < k; j++) {
                worst = Math.max(worst, Math.abs(actual[i][j] - expected[i * k + j]));
                spread = Math.max(spread, Math.abs(expected[i * k + j]));
            }
        }
        System.out.printf("onnx vs torch, %s: max |diff| %.2e (logits up to %.2f)%n", stem, worst, spread);
        assertTrue(worst <= TOLERANCE * spread, stem + ": ONNX Runtime vs torch " + worst + " > " + TOLERANCE + " * " + spread);
    }
}
