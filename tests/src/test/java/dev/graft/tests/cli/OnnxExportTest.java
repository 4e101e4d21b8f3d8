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
import dev.graft.models.BlockType;
import dev.graft.models.ModelMetadata;
import dev.graft.models.ResNet;
import dev.graft.models.ResNetConfig;
import dev.graft.train.ModelFile;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code graft export --onnx}: ONNX Runtime (Java, CPU) loads the exported file and its logits for random images
 * must equal Graft's within {@value #TOLERANCE}. Graft's side is the reference backend's unfused eval-mode forward
 * pass (batch norm as its own op with the running statistics), so the folding the export does is checked, not
 * assumed. The networks have random batch-norm statistics (running mean/var, gamma, beta far from 0/1/1/0), or
 * folding would be the identity. Why 1e-4: both sides compute in float32 and sum each convolution's terms in a
 * different order (ONNX Runtime's MLAS kernels vs plain loops), and folding rounds w * g / sqrt(v + eps) to float32
 * once: each rounding is up to 6e-8 of the value, and the errors grow with the logits' size. Measured here: 3e-7 to
 * 5e-7 on the basic-block and one-channel networks (logits up to 3.7), 1.5e-5 on the bottleneck network (logits up
 * to 33, 5e-7 of them). A wrong op, attribute, weight layout or fold moves the logits by far more: with max-pool
 * padding dropped, conv biases dropped or a shortcut misplaced these tests failed at 0.17 to 33.
 */
class OnnxExportTest {
    private static final double TOLERANCE = 1e-4;
    private static final Set<String> OPS = Set.of("Conv", "Relu", "Add", "MaxPool", "GlobalAveragePool", "Flatten", "Gemm",
            "AveragePool", "Concat");

    private static OrtEnvironment env;

    @TempDir
    Path tmp;

    @BeforeAll
    static void runtime() {
        // Loads the native library bundled in the jar (linux-x64 here); a process-wide singleton, closed at exit.
        env = OrtEnvironment.getEnvironment();
    }

    @Test
    void basicBlockNetworkGivesGraftsLogitsAtAnyImageSize() throws Exception {
        ResNetConfig config = ResNetConfig.of(BlockType.BASIC, 1, 2, 1, 1).withWidths(8, 8, 16, 16, 32).withNumClasses(2);
        Path model = modelFile(tmp.resolve("basic.safetensors"), config, 11, Map.of());
        Path onnx = tmp.resolve("basic.onnx");
        Cli.Run r = Cli.ok("export", "--model", model, "--onnx", onnx);
        assertTrue(r.out().contains("opset 17") && r.out().contains("[N, 3, H, W]"), r.out());
        checkGraph(onnx, config);
        // The batch size and the spatial size are dynamic: the training size, another one and a non-square one.
        assertSameLogits(model, onnx, 3, 32, 32, 1);
        assertSameLogits(model, onnx, 2, 45, 37, 2);
    }

    @Test
    void groupedBottleneckNetworkGivesGraftsLogits() throws Exception {
        // groups 2, width per group 32: inner width floor(planes * 32 / 64) * 2 = planes, grouped 3x3 convolutions.
        ResNetConfig config = ResNetConfig.of(BlockType.BOTTLENECK, 1, 1, 2, 1).withWidths(8, 4, 8, 8, 8).withGroups(2, 32)
                .withNumClasses(3);
        Path model = modelFile(tmp.resolve("bottleneck.safetensors"), config, 12, Map.of());
        Path onnx = tmp.resolve("bottleneck.onnx");
        Cli.ok("export", "--model", model, "--onnx", onnx);
        checkGraph(onnx, config);
        assertSameLogits(model, onnx, 3, 32, 32, 3);
    }

    /** CBR-Tiny's shape (5x5 convolutions, unpadded 3x3/2 max pool after every block) at small widths. */
    @Test
    void cbrNetworkGivesGraftsLogits() throws Exception {
        ResNetConfig config = ResNetConfig.named("cbr_tiny", 2).withWidths(4, 8, 8, 16, 16);
        Path model = modelFile(tmp.resolve("cbr.safetensors"), config, 14, Map.of());
        Path onnx = tmp.resolve("cbr.onnx");
        Cli.ok("export", "--model", model, "--onnx", onnx);
        checkGraph(onnx, config);
        assertSameLogits(model, onnx, 2, 40, 36, 5);
    }

    /**
     * torchvision's inception_v3 (10 classes, with AuxLogits in the file, which export leaves out): AveragePool with
     * count_include_pad, Concat of each block's branches, 1x7 / 7x1 / 1x3 / 3x1 convolutions, transform_input as a
     * depthwise 1x1 Conv; ONNX Runtime's logits equal Graft's at 75x75 and at a non-square size. Slow: a 100 MB model
     * file and the unfused reference forward pass take about 35 s on 2 cores.
     */
    @Test
    @org.junit.jupiter.api.Tag("slow")
    void inceptionV3GivesGraftsLogits() throws Exception {
        ResNetConfig config = ResNetConfig.named("inception_v3", 10);
        Path model = modelFile(tmp.resolve("inception.safetensors"), config, 15, Map.of());
        Path onnx = tmp.resolve("inception.onnx");
        Cli.ok("export", "--model", model, "--onnx", onnx);
        checkGraph(onnx, config);
        OnnxMl.ModelProto m;
        try (InputStream in = Files.newInputStream(onnx)) {
            m = OnnxMl.ModelProto.parseFrom(in);
        }
        long avg = m.getGraph().getNodeList().stream().filter(n -> n.getOpType().equals("AveragePool")).count();
        assertEquals(9, avg, "one branch pool per InceptionA, C and E block (3 + 4 + 2)");
        m.getGraph().getNodeList().stream().filter(n -> n.getOpType().equals("AveragePool")).forEach(n ->
                assertTrue(n.getAttributeList().stream().anyMatch(a -> a.getName().equals("count_include_pad") && a.getI() == 1), n.getName()));
        assertTrue(m.getGraph().getInitializerList().stream().noneMatch(t -> t.getName().startsWith("AuxLogits.")));
        assertSameLogits(model, onnx, 1, 75, 75, 6);
        assertSameLogits(model, onnx, 1, 80, 91, 7);
    }

    @Test
    void oneChannelNetworkTakesOneChannel() throws Exception {
        ResNetConfig config = ResNetConfig.of(BlockType.BASIC, 1, 1, 1, 1).withWidths(8, 8, 16, 16, 32).withNumClasses(2)
                .withInChannels(1);
        Path model = modelFile(tmp.resolve("gray.safetensors"), config, 13, Map.of());
        Path onnx = tmp.resolve("gray.onnx");
        Cli.Run r = Cli.ok("export", "--model", model, "--onnx", onnx);
        assertTrue(r.out().contains("[N, 1, H, W]"), r.out());
        checkGraph(onnx, config);
        assertSameLogits(model, onnx, 2, 32, 32, 4);
        try (OrtSession s = env.createSession(onnx.toString(), new OrtSession.SessionOptions())) {
            assertEquals("1", s.getMetadata().getCustomMetadata().get("graft.input_channels"));
        }
    }

    @Test
    void metadataCarriesThePreprocessingClassesDecisionAndTemperature() throws Exception {
        ResNetConfig config = ResNetConfig.of(BlockType.BASIC, 1, 1, 1, 1).withWidths(8, 8, 16, 16, 32).withNumClasses(2);
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("graft.image_size", "48");
        meta.put("graft.resize_size", "56");
        meta.put("graft.mean", "0.5,0.25,0.125");
        meta.put("graft.std", "0.2,0.3,0.4");
        meta.put("graft.classes", "[\"NORMAL\",\"PNEUMONIA\"]");
        meta.put("graft.threshold", "0.845");
        meta.put("graft.positive_class", "PNEUMONIA");
        meta.put("graft.temperature", "1.75");
        Path model = modelFile(tmp.resolve("xray.safetensors"), config, 14, meta);
        Path onnx = tmp.resolve("xray.onnx");
        Cli.ok("export", "--model", model, "--onnx", onnx);

        Map<String, String> props;
        try (OrtSession s = env.createSession(onnx.toString(), new OrtSession.SessionOptions())) {
            props = s.getMetadata().getCustomMetadata();
            assertEquals("graft", s.getMetadata().getProducerName());
        }
        // Read back by the rules a model file is read by, the values are the ones written into the model file.
        ModelMetadata back = ModelMetadata.read("xray.onnx", props, ResNetConfig.parse(props.get("graft.resnet")));
        assertEquals(List.of("NORMAL", "PNEUMONIA"), back.classes());
        assertEquals(48, back.imageSize());
        assertEquals(56, back.resizeSize());
        assertArrayEquals(new float[] {0.5f, 0.25f, 0.125f}, back.mean());
        assertArrayEquals(new float[] {0.2f, 0.3f, 0.4f}, back.std());
        assertEquals(0.845, back.decision().threshold());
        assertEquals(1, back.decision().positiveIndex());
        assertEquals(1.75, back.temperature());
        assertEquals(config, ResNetConfig.parse(props.get("graft.resnet")));
        assertEquals("3", props.get("graft.input_channels"));
    }

    @Test
    void aFileWithoutGraftMetadataGetsTheDefaultsWrittenOut() throws Exception {
        ResNetConfig config = ResNetConfig.of(BlockType.BASIC, 1, 1, 1, 1).withWidths(8, 8, 16, 16, 32).withNumClasses(3);
        StateDict bare = weights(config, 15); // keys only, as torchvision weights: architecture inferred, nothing else
        Path model = tmp.resolve("bare.safetensors");
        SafeTensors.write(model, bare);
        Path onnx = tmp.resolve("bare.onnx");
        Cli.ok("export", "--model", model, "--onnx", onnx);
        try (OrtSession s = env.createSession(onnx.toString(), new OrtSession.SessionOptions())) {
            Map<String, String> props = s.getMetadata().getCustomMetadata();
            assertEquals("[\"0\",\"1\",\"2\"]", props.get("graft.classes"));
            assertEquals("224", props.get("graft.image_size"));
            assertEquals("256", props.get("graft.resize_size"));
            assertEquals("0.485,0.456,0.406", props.get("graft.mean"));
            assertEquals("0.229,0.224,0.225", props.get("graft.std"));
            assertEquals("1.0", props.get("graft.temperature"));
            assertFalse(props.containsKey("graft.threshold"), "argmax is the absence of a threshold, as in model files");
        }
    }

    @Test
    void onnxAndRuntimeTogether() throws IOException {
        Path model = modelFile(tmp.resolve("m.safetensors"), DecisionFixtures.TINY, 16, Map.of());
        Path onnx = tmp.resolve("m.onnx");
        Path dir = tmp.resolve("folder");
        Cli.ok("export", "--model", model, "--onnx", onnx, "--runtime", dir, "--no-onednn");
        assertTrue(Files.isRegularFile(onnx));
        assertTrue(Files.isRegularFile(dir.resolve("graft-runtime.jar")));
    }

    @Test
    void badInputIsATypedErrorAndWritesNothing() throws Exception {
        Path model = modelFile(tmp.resolve("m.safetensors"), DecisionFixtures.TINY, 17, Map.of());
        Path junk = Files.write(tmp.resolve("junk.safetensors"), new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9});
        Path onnx = tmp.resolve("out.onnx");
        Cli.userError(Cli.args("export", "--model", junk, "--onnx", onnx), "junk.safetensors");
        Cli.userError(Cli.args("export", "--model", tmp.resolve("missing.safetensors"), "--onnx", onnx), "--model", "no such file");
        Path folder = Files.createDirectories(tmp.resolve("a.onnx"));
        Cli.userError(Cli.args("export", "--model", model, "--onnx", folder), "--onnx", "is a folder");
        Cli.userError(Cli.args("export", "--model", model, "--onnx", tmp.resolve("model.bin")), "--onnx", "must end in .onnx");
        Cli.userError(Cli.args("export", "--model", model, "--onnx", tmp.resolve("no-such-dir").resolve("m.onnx")), "--onnx", "does not exist");
        Cli.userError(Cli.args("export", "--model", model, "--onnx", onnx, "--no-onednn"), "--no-onednn", "--runtime");
        Cli.userError(Cli.args("export", "--model", model), "--runtime DIR", "--onnx FILE");
        assertFalse(Files.exists(onnx), "a failed export wrote its file");

        Files.writeString(onnx, "an earlier file");
        Cli.userError(Cli.args("export", "--model", model, "--onnx", onnx), "--onnx", "already exists", "--force");
        assertEquals("an earlier file", Files.readString(onnx));
        // A refused runtime folder leaves the ONNX file alone too: everything is checked before anything is written.
        Path busy = Files.createDirectories(tmp.resolve("busy"));
        Files.writeString(busy.resolve("notes.txt"), "x");
        Path second = tmp.resolve("second.onnx");
        Cli.userError(Cli.args("export", "--model", model, "--onnx", second, "--runtime", busy), "--runtime", "is not empty");
        assertFalse(Files.exists(second), "wrote the ONNX file although the runtime folder was refused");

        Cli.ok("export", "--model", model, "--onnx", onnx, "--force");
        try (OrtSession s = env.createSession(onnx.toString(), new OrtSession.SessionOptions())) {
            assertEquals(Set.of(OnnxNames.INPUT), s.getInputNames());
        }
        try (var files = Files.list(tmp)) {
            assertFalse(files.anyMatch(f -> f.getFileName().toString().endsWith(".tmp")), "a temporary file was left");
        }
    }

    // ---- helpers ----------------------------------------------------------------------------------------------

    private static final class OnnxNames {
        static final String INPUT = "input";
        static final String OUTPUT = "logits";
    }

    /**
     * The file as ONNX's schema reads it: opset 17 of the default domain, IR version 8, only standard ops, the
     * input and output names and shapes (N, H, W symbolic), and the shapes ONNX Runtime reports.
     */
    private static void checkGraph(Path onnx, ResNetConfig config) throws IOException, OrtException {
        OnnxMl.ModelProto m;
        try (InputStream in = Files.newInputStream(onnx)) {
            m = OnnxMl.ModelProto.parseFrom(in);
        }
        assertEquals(8, m.getIrVersion());
        assertEquals(1, m.getOpsetImportCount());
        assertEquals("", m.getOpsetImport(0).getDomain());
        assertEquals(17, m.getOpsetImport(0).getVersion());
        Set<String> ops = new TreeSet<>();
        m.getGraph().getNodeList().forEach(n -> ops.add(n.getOpType()));
        assertTrue(OPS.containsAll(ops), ops.toString());
        // Batch norm is folded: the initializers are the convolutions' and fc's weights and biases, nothing else.
        m.getGraph().getInitializerList().forEach(t -> assertTrue(t.getName().endsWith(".weight") || t.getName().endsWith(".bias"), t.getName()));

        try (OrtSession s = env.createSession(onnx.toString(), new OrtSession.SessionOptions())) {
            NodeInfo in = s.getInputInfo().get(OnnxNames.INPUT);
            NodeInfo out = s.getOutputInfo().get(OnnxNames.OUTPUT);
            assertArrayEquals(new long[] {-1, config.inChannels(), -1, -1}, ((TensorInfo) in.getInfo()).getShape());
            assertArrayEquals(new String[] {"N", "", "H", "W"}, ((TensorInfo) in.getInfo()).getDimensionNames());
            assertArrayEquals(new long[] {-1, config.numClasses()}, ((TensorInfo) out.getInfo()).getShape());
        }
    }

    /** Random N(0, 1) images through ONNX Runtime and through Graft (reference backend, eval mode, unfused). */
    private static void assertSameLogits(Path model, Path onnx, int n, int h, int w, long seed) throws OrtException {
        ModelFile mf = ModelFile.read(model);
        int c = ResNet.configOf(mf.state()).inChannels();
        float[] images = new float[n * c * h * w];
        Random r = new Random(seed);
        for (int i = 0; i < images.length; i++) {
            images[i] = (float) r.nextGaussian();
        }
        float[] expected;
        try (ResNet net = mf.build(Device.REFERENCE); Scope scope = Scope.open(); Grad.Mode off = Grad.off()) {
            net.eval();
            net.setFusedInference(false);
            expected = net.forward(Tensor.fromArray(Device.REFERENCE, images, n, c, h, w)).toFloatArray();
        }
        float[][] actual;
        try (OrtSession s = env.createSession(onnx.toString(), new OrtSession.SessionOptions());
             OnnxTensor x = OnnxTensor.createTensor(env, FloatBuffer.wrap(images), new long[] {n, c, h, w});
             OrtSession.Result out = s.run(Map.of(OnnxNames.INPUT, x))) {
            actual = (float[][]) out.get(OnnxNames.OUTPUT).orElseThrow().getValue();
        }
        int k = expected.length / n;
        assertEquals(n, actual.length);
        double worst = 0;
        for (int i = 0; i < n; i++) {
            assertEquals(k, actual[i].length);
            for (int j = 0; j < k; j++) {
                worst = Math.max(worst, Math.abs(actual[i][j] - expected[i * k + j]));
            }
        }
        double spread = 0;
        for (float v : expected) {
            spread = Math.max(spread, Math.abs(v));
        }
        assertTrue(spread > 0.1, "logits too small to tell anything apart: " + spread);
        System.out.printf("onnx vs graft, %s %dx%dx%dx%d: max |diff| %.2e (logits up to %.2f)%n", model.getFileName(), n, c, h, w, worst, spread);
        assertTrue(worst <= TOLERANCE, "ONNX Runtime's logits differ from Graft's by " + worst + " > " + TOLERANCE);
    }

    /** A model file of {@code config} with random weights and batch-norm state, 32x32 preprocessing and {@code meta}. */
    static Path modelFile(Path file, ResNetConfig config, long seed, Map<String, String> meta) {
        StateDict sd = weights(config, seed);
        Map<String, String> m = new HashMap<>();
        m.put(ResNet.META_ARCHITECTURE, config.architecture());
        m.put(ResNet.META_CONFIG, config.describe());
        m.put("graft.image_size", "32");
        m.put("graft.resize_size", "36");
        m.putAll(meta);
        sd.metadata().putAll(m);
        SafeTensors.write(file, sd);
        return file;
    }

    /**
     * Every tensor of {@code config}'s state dict, random: conv weights He-normal, running var and gamma uniform in
     * [0.5, 1.5) (gamma [0.2, 0.6) on each residual branch's last batch norm), running mean and beta N(0, 0.5^2)
     * (far from the identity, so that folding matters), fc as {@code nn.Linear} initialises it.
     */
    private static StateDict weights(ResNetConfig config, long seed) {
        Random r = new Random(seed);
        StateDict sd = new StateDict();
        try (ResNet shape = ResNet.builder(config).device(Device.REFERENCE).initialize(false).build()) {
            for (Map.Entry<String, Tensor> e : shape.namedState().entrySet()) {
                String k = e.getKey();
                Shape s = e.getValue().shape();
                if (k.endsWith("num_batches_tracked")) {
                    sd.put(k, HostTensor.of(new long[] {100}, s));
                    continue;
                }
                // The last batch norm of each residual branch gets a smaller gamma, as trained ResNets have (and
                // torchvision's zero_init_residual starts from): otherwise every block multiplies the activations and
                // a bottleneck network's logits reach the hundreds, where float32's rounding alone passes 1e-4.
                boolean residualGamma = k.startsWith("layer") && (k.contains(".bn3.")
                        || (config.block() == BlockType.BASIC && k.contains(".bn2.")));
                float[] v = new float[s.numel()];
                int fanIn = s.rank() > 1 ? s.numel() / s.dim(0) : 1;
                for (int i = 0; i < v.length; i++) {
                    v[i] = (float) (residualGamma && k.endsWith(".weight")
                            ? 0.2 + 0.4 * r.nextDouble()
                            : k.endsWith("running_var") || (k.endsWith(".weight") && s.rank() == 1)
                            ? 0.5 + r.nextDouble()
                            : k.endsWith("running_mean") || (k.endsWith(".bias") && !k.startsWith("fc."))
                            ? 0.5 * r.nextGaussian()
                            : k.startsWith("fc.")
                            ? (2 * r.nextDouble() - 1) / Math.sqrt(fanIn)
                            : r.nextGaussian() * Math.sqrt(2.0 / fanIn));
                }
                sd.put(k, HostTensor.of(v, s));
            }
        }
        return sd;
    }
}
