package dev.graft.tests.cli;

import ai.onnx.proto.OnnxMl;
import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import dev.graft.engine.Device;
import dev.graft.engine.Grad;
import dev.graft.engine.HostTensor;
import dev.graft.engine.Scope;
import dev.graft.engine.Shape;
import dev.graft.engine.StateDict;
import dev.graft.engine.Tensor;
import dev.graft.loaders.SafeTensors;
import dev.graft.models.ResNet;
import dev.graft.models.ResNetConfig;
import dev.graft.models.SwinConfig;
import dev.graft.models.SwinTransformer;
import dev.graft.models.ViTConfig;
import dev.graft.train.ModelFile;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code graft export --onnx} of plain vision transformers (torchvision's ViT names and timm's DeiT names) and Swin
 * Transformers (torchvision's names): ONNX
 * Runtime (Java, CPU) runs the exported file and its logits for random images must equal Graft's own eval forward
 * pass on the reference backend (unfused modules, the oracle every ViT parity test checks against torch) within
 * {@value #TOLERANCE} of the largest logit. Why 1e-4 relative: both sides are float32 but sum in other orders (MLAS
 * gemms and ONNX Runtime's fused LayerNormalization / Softmax vs plain loops; Graft's GELU is erf-based as the
 * graph's), so each of the ~20 roundings per block is up to 6e-8 relative and they compound through the residual
 * stream; a wrong op, transposed weight, head split, scale or dropped bias moves the logits by 1e-2 or more of their
 * size. The weights are random and far from torchvision's initialisation (class token, q/k/v biases and layer norms
 * not 0 / 1), so every tensor matters. Batch 1 and 3 run through one file: the batch axis is dynamic.
 */
class OnnxTransformerExportTest {
    private static final double TOLERANCE = 1e-4;
    private static final Set<String> OPS = Set.of("Conv", "Reshape", "Transpose", "Shape", "Slice", "Concat", "Expand", "Add",
            "LayerNormalization", "MatMul", "Gather", "Mul", "Softmax", "Erf", "Gemm", "Pad", "ReduceMean");

    private static OrtEnvironment env;

    @TempDir
    Path tmp;

    @BeforeAll
    static void runtime() {
        env = OrtEnvironment.getEnvironment();
    }

    @Test
    void torchvisionNamedViTAt224GivesGraftsLogits() throws Exception {
        ViTConfig vit = new ViTConfig("custom", ViTConfig.Naming.TORCHVISION, 224, 16, 32, 2, 4, 64, 5, 3);
        Path model = modelFile(tmp.resolve("vit.safetensors"), ResNetConfig.vit(vit), ResNetConfig.vit(vit), 224, 21);
        Path onnx = tmp.resolve("vit.onnx");
        Cli.Run r = Cli.ok("export", "--model", model, "--onnx", onnx);
        assertTrue(r.out().contains("opset 17") && r.out().contains("[N, 3, 224, 224]"), r.out());
        checkGraph(onnx, ResNetConfig.vit(vit), 224);
        assertSameLogits(model, onnx, 1, 224, 1);
        assertSameLogits(model, onnx, 3, 224, 2);
    }

    @Test
    void timmNamedDeiTAt224GivesGraftsLogits() throws Exception {
        ViTConfig vit = new ViTConfig("custom", ViTConfig.Naming.TIMM, 224, 16, 24, 2, 3, 48, 4, 3);
        Path model = modelFile(tmp.resolve("deit.safetensors"), ResNetConfig.vit(vit), ResNetConfig.vit(vit), 224, 22);
        Path onnx = tmp.resolve("deit.onnx");
        Cli.ok("export", "--model", model, "--onnx", onnx);
        checkGraph(onnx, ResNetConfig.vit(vit), 224);
        assertSameLogits(model, onnx, 1, 224, 3);
        assertSameLogits(model, onnx, 3, 224, 4);
    }

    /**
     * A file whose weights were made at 224 px (a 14 x 14 position embedding) configured for 96 px: Graft interpolates
     * the embedding to 6 x 6 when it loads the file, and the export carries the interpolated one (input [N, 3, 96, 96]).
     */
    @Test
    void anotherImageSizeCarriesTheInterpolatedPositionEmbedding() throws Exception {
        ViTConfig at224 = new ViTConfig("custom", ViTConfig.Naming.TIMM, 224, 16, 24, 1, 2, 48, 3, 3);
        ViTConfig at96 = at224.withImageSize(96);
        Path model = modelFile(tmp.resolve("deit96.safetensors"), ResNetConfig.vit(at224), ResNetConfig.vit(at96), 96, 23);
        Path onnx = tmp.resolve("deit96.onnx");
        Cli.Run r = Cli.ok("export", "--model", model, "--onnx", onnx);
        assertTrue(r.out().contains("[N, 3, 96, 96]"), r.out());
        checkGraph(onnx, ResNetConfig.vit(at96), 96);
        OnnxMl.ModelProto m = read(onnx);
        OnnxMl.TensorProto pos = m.getGraph().getInitializerList().stream().filter(t -> t.getName().equals("pos_embed")).findFirst().orElseThrow();
        assertEquals(java.util.List.of(1L, 37L, 24L), pos.getDimsList(), "1 + 6 * 6 tokens");
        assertSameLogits(model, onnx, 3, 96, 5);
    }

    /** Full-size DeiT-S (22 M parameters, 88 MB): the export and one image through both; slow on 2 cores. */
    @Test
    @Tag("slow")
    void fullSizeDeiTSmall() throws Exception {
        ViTConfig vit = ViTConfig.named("deit_s", 10);
        Path model = modelFile(tmp.resolve("deit_s.safetensors"), ResNetConfig.vit(vit), ResNetConfig.vit(vit), 224, 24);
        Path onnx = tmp.resolve("deit_s.onnx");
        Cli.ok("export", "--model", model, "--onnx", onnx);
        checkGraph(onnx, ResNetConfig.vit(vit), 224);
        assertSameLogits(model, onnx, 1, 224, 6);
    }

    /**
     * A narrow Swin (torchvision's names) with random weights, relative position bias tables included, trained at 224:
     * a 56 x 56 map in windows of 7 with the shift and its mask, patch merging, a 28 x 28 stage; batch 1 and 3.
     */
    @Test
    void swinAt224GivesGraftsLogits() throws Exception {
        ResNetConfig swin = ResNetConfig.swin(SwinConfig.parse(
                "family=swin patch=4 embed=16 depths=2,2 heads=1,2 window=7 stochastic_depth=0.0 classes=3 in_channels=3"));
        Path model = modelFile(tmp.resolve("swin.safetensors"), swin, swin, 224, 25);
        Path onnx = tmp.resolve("swin.onnx");
        Cli.Run r = Cli.ok("export", "--model", model, "--onnx", onnx);
        assertTrue(r.out().contains("[N, 3, 224, 224]"), r.out());
        checkGraph(onnx, swin, 224);
        assertSameLogits(model, onnx, 1, 224, 7);
        assertSameLogits(model, onnx, 3, 224, 8);
    }

    /**
     * Trained at 100 px: a 25 x 25 map, padded to whole windows of 4 (and shifted), an odd map into the first patch
     * merging (padded to 26), 13 x 13 then 7 x 7 maps: the graph is written for the trained size.
     */
    @Test
    void swinAtAnOddMapSizeGivesGraftsLogits() throws Exception {
        ResNetConfig swin = ResNetConfig.swin(SwinConfig.parse(
                "family=swin patch=4 embed=8 depths=1,2,2 heads=1,2,2 window=4 stochastic_depth=0.0 classes=4 in_channels=3"));
        Path model = modelFile(tmp.resolve("swin100.safetensors"), swin, swin, 100, 26);
        Path onnx = tmp.resolve("swin100.onnx");
        Cli.ok("export", "--model", model, "--onnx", onnx);
        checkGraph(onnx, swin, 100);
        assertSameLogits(model, onnx, 3, 100, 9);
    }

    // ---- helpers ----------------------------------------------------------------------------------------------

    private static OnnxMl.ModelProto read(Path onnx) throws IOException {
        try (InputStream in = Files.newInputStream(onnx)) {
            return OnnxMl.ModelProto.parseFrom(in);
        }
    }

    /** Opset 17 of the default domain, only standard ops, input [N, C, S, S] with N symbolic, output [N, classes]. */
    private static void checkGraph(Path onnx, ResNetConfig config, int size) throws IOException, OrtException {
        OnnxMl.ModelProto m = read(onnx);
        assertEquals(8, m.getIrVersion());
        assertEquals(17, m.getOpsetImport(0).getVersion());
        assertEquals("", m.getOpsetImport(0).getDomain());
        Set<String> ops = new TreeSet<>();
        m.getGraph().getNodeList().forEach(n -> ops.add(n.getOpType()));
        assertTrue(OPS.containsAll(ops), ops.toString());
        try (OrtSession s = env.createSession(onnx.toString(), new OrtSession.SessionOptions())) {
            NodeInfo in = s.getInputInfo().get("input");
            NodeInfo out = s.getOutputInfo().get("logits");
            assertArrayEquals(new long[] {-1, config.inChannels(), size, size}, ((TensorInfo) in.getInfo()).getShape());
            assertArrayEquals(new long[] {-1, config.numClasses()}, ((TensorInfo) out.getInfo()).getShape());
            assertEquals(config.describe(), s.getMetadata().getCustomMetadata().get("graft.resnet"));
        }
    }

    /** Random N(0, 1) images through ONNX Runtime and through Graft (reference backend, eval mode). */
    private static void assertSameLogits(Path model, Path onnx, int n, int size, long seed) throws OrtException {
        ModelFile mf = ModelFile.read(model);
        int c = 3;
        float[] images = new float[n * c * size * size];
        Random r = new Random(seed);
        for (int i = 0; i < images.length; i++) {
            images[i] = (float) r.nextGaussian();
        }
        float[] expected;
        try (ResNet net = mf.build(Device.REFERENCE); Scope scope = Scope.open(); Grad.Mode off = Grad.off()) {
            net.eval();
            expected = net.forward(Tensor.fromArray(Device.REFERENCE, images, n, c, size, size)).toFloatArray();
        }
        float[][] actual;
        try (OrtSession s = env.createSession(onnx.toString(), new OrtSession.SessionOptions());
             OnnxTensor x = OnnxTensor.createTensor(env, FloatBuffer.wrap(images), new long[] {n, c, size, size});
             OrtSession.Result out = s.run(Map.of("input", x))) {
            actual = (float[][]) out.get("logits").orElseThrow().getValue();
        }
        int k = expected.length / n;
        assertEquals(n, actual.length);
        double worst = 0;
        double spread = 0;
        for (int i = 0; i < n; i++) {
            assertEquals(k, actual[i].length);
            for (int j = 0; j < k; j++) {
                worst = Math.max(worst, Math.abs(actual[i][j] - expected[i * k + j]));
                spread = Math.max(spread, Math.abs(expected[i * k + j]));
            }
        }
        assertTrue(spread > 0.1, "logits too small to tell anything apart: " + spread);
        System.out.printf("onnx vs graft, %s %dx%dx%dx%d: max |diff| %.2e (logits up to %.2f, %.1e of them)%n", model.getFileName(), n,
                c, size, size, worst, spread, worst / spread);
        assertTrue(worst <= TOLERANCE * spread, "ONNX Runtime's logits differ from Graft's by " + worst + " > " + TOLERANCE + " * " + spread);
    }

    /**
     * A model file with random weights made for {@code weights} (its image size sets the position embedding's grid)
     * and configured as {@code config} in its metadata (another image size: Graft interpolates when it loads).
     */
    private static Path modelFile(Path file, ResNetConfig weights, ResNetConfig config, int imageSize, long seed) {
        Random r = new Random(seed);
        StateDict sd = new StateDict();
        try (ResNet shape = ResNet.builder(weights).device(Device.REFERENCE).initialize(false).build()) {
            for (Map.Entry<String, Tensor> e : shape.namedState().entrySet()) {
                String k = e.getKey();
                Shape s = e.getValue().shape();
                if (k.endsWith("relative_position_index")) { // a buffer: torchvision's index, not a weight
                    sd.put(k, HostTensor.of(SwinTransformer.relativePositionIndex(weights.swinConfig().window()), s));
                    continue;
                }
                float[] v = new float[s.numel()];
                boolean norm = s.rank() == 1 && (k.contains("norm") || k.contains("ln") || k.startsWith("features.0.2."));
                int fanIn = s.rank() > 1 ? s.numel() / s.dim(0) : 1;
                for (int i = 0; i < v.length; i++) {
                    v[i] = (float) (norm && k.endsWith(".weight") ? 0.5 + r.nextDouble()
                            : norm ? 0.2 * r.nextGaussian()
                            : s.rank() == 1 ? 0.1 * r.nextGaussian() // linear and conv biases
                            : k.contains("token") || k.contains("pos_emb") ? 0.5 * r.nextGaussian()
                            : r.nextGaussian() / Math.sqrt(fanIn));
                }
                sd.put(k, HostTensor.of(v, s));
            }
        }
        sd.metadata().put(ResNet.META_ARCHITECTURE, config.architecture());
        sd.metadata().put(ResNet.META_CONFIG, config.describe());
        sd.metadata().put("graft.image_size", Integer.toString(imageSize));
        sd.metadata().put("graft.resize_size", Integer.toString(imageSize));
        SafeTensors.write(file, sd);
        return file;
    }
}
