package dev.graft.runtime;

import dev.graft.engine.HostTensor;
import dev.graft.engine.Shape;
import dev.graft.engine.StateDict;
import dev.graft.loaders.LoadLimits;
import dev.graft.loaders.SafeTensors;
import dev.graft.models.BlockType;
import dev.graft.models.ResNet;
import dev.graft.models.ResNetConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Bad model files and bad images are typed errors whose message names the file and the reason. */
class ClassifierErrorsTest {
    private static final ResNetConfig SMALL =
            ResNetConfig.of(BlockType.BASIC, 1, 1, 1, 1).withWidths(8, 8, 16, 16, 32).withNumClasses(2);

    @TempDir
    Path dir;

    private Path small(Map<String, String> meta) {
        return ModelFiles.write(dir.resolve("m" + meta.hashCode() + ".safetensors"), SMALL, 1, 32, meta);
    }

    private static void assertMessage(RuntimeException e, String... parts) {
        for (String p : parts) {
            assertTrue(e.getMessage().contains(p), "message '" + e.getMessage() + "' should mention '" + p + "'");
        }
    }

    /** A file over the loaders' heap budget is the runtime's typed error, naming the file and how to raise it. */
    @Test
    void aModelOverTheHeapBudget() {
        Path f = small(Map.of());
        String before = System.getProperty(LoadLimits.MAX_BYTES_PROPERTY);
        System.setProperty(LoadLimits.MAX_BYTES_PROPERTY, "1k"); // the smallest conv1 weight alone is 8x3x7x7 floats
        try {
            for (boolean optimize : new boolean[] {true, false}) {
                assertMessage(assertThrows(ModelFileException.class,
                        () -> Classifier.load(f, Classifier.Options.defaults().withDevice("reference").withOptimize(optimize))),
                        f.getFileName().toString(), LoadLimits.MAX_BYTES_PROPERTY);
            }
        } finally {
            if (before == null) {
                System.clearProperty(LoadLimits.MAX_BYTES_PROPERTY);
            } else {
                System.setProperty(LoadLimits.MAX_BYTES_PROPERTY, before);
            }
        }
    }

    @Test
    void missingFile() {
        Path f = dir.resolve("nope.safetensors");
        assertMessage(assertThrows(ModelFileException.class, () -> Classifier.load(f)), "nope.safetensors", "does not exist");
    }

    @Test
    void anImageGivenAsTheModel() throws IOException {
        Path png = dir.resolve("xray.png");
        ImageIO.write(ModelFiles.image(8, 8, 1), "png", png.toFile());
        assertMessage(assertThrows(ModelFileException.class, () -> Classifier.load(png)), "xray.png", "unrecognized format");
    }

    @Test
    void aStateDictOfAnotherArchitecture() {
        StateDict s = new StateDict();
        s.put("encoder.layer.0.attention.query.weight", HostTensor.of(new float[16], Shape.of(4, 4)));
        s.put("classifier.weight", HostTensor.of(new float[8], Shape.of(2, 4)));
        Path f = dir.resolve("bert.safetensors");
        SafeTensors.write(f, s);
        assertMessage(assertThrows(ModelFileException.class, () -> Classifier.load(f)), "bert.safetensors", "not a ResNet",
                "conv1.weight");
    }

    @Test
    void metadataNamingAnotherArchitecture() {
        // (vit_b_16 was the example until the vision transformers joined the registry)
        Path f = small(Map.of(ResNet.META_ARCHITECTURE, "efficientnet_b0"));
        assertMessage(assertThrows(ModelFileException.class, () -> Classifier.load(f)), "efficientnet_b0", "registry's networks");
    }

    @Test
    void metadataThatContradictsTheWeights() {
        // The header says resnet50's configuration; the tensors are a small basic-block network's.
        Path f = small(Map.of(ResNet.META_CONFIG, ResNetConfig.named("resnet50", 2).describe()));
        assertMessage(assertThrows(ModelFileException.class, () -> Classifier.load(f)), "not a ResNet this runtime can run");
    }

    @Test
    void classNamesThatDoNotFit() {
        Path three = small(Map.of(ModelInfo.META_CLASSES, "[\"a\",\"b\",\"c\"]"));
        assertMessage(assertThrows(ModelFileException.class, () -> Classifier.load(three)), "names 3 classes", "2 outputs");
        Path bad = small(Map.of(ModelInfo.META_CLASSES, "normal,pneumonia"));
        assertMessage(assertThrows(ModelFileException.class, () -> Classifier.load(bad)), "graft.classes");
        Path threshold = small(Map.of(ModelInfo.META_THRESHOLD, "1.5"));
        assertMessage(assertThrows(ModelFileException.class, () -> Classifier.load(threshold)), "graft.threshold");
        Path positive = small(Map.of(ModelInfo.META_CLASSES, "[\"normal\",\"pneumonia\"]", ModelInfo.META_POSITIVE_CLASS, "covid"));
        assertMessage(assertThrows(ModelFileException.class, () -> Classifier.load(positive)), "covid");
    }

    @Test
    void unknownDevice() {
        Path f = small(Map.of());
        assertThrows(dev.graft.engine.DeviceException.class,
                () -> Classifier.load(f, Classifier.Options.defaults().withDevice("tpu")));
    }

    @Test
    void badImages() throws IOException {
        try (Classifier c = Classifier.load(small(Map.of()), Classifier.Options.defaults().withDevice("reference"))) {
            assertMessage(assertThrows(ImageInputException.class, () -> c.classify((BufferedImage) null)), "null");
            assertMessage(assertThrows(ImageInputException.class, () -> c.classify(java.util.Arrays.asList(
                    ModelFiles.image(10, 10, 1), null))), "image 1");
            Path text = Files.writeString(dir.resolve("notes.png"), "not an image");
            assertMessage(assertThrows(ImageInputException.class, () -> c.classify(text)), "notes.png");
            BufferedImage sliver = new BufferedImage(100_000, 1, BufferedImage.TYPE_BYTE_GRAY);
            assertMessage(assertThrows(ImageInputException.class, () -> c.classify(sliver)), "the image", "too elongated");
        }
    }

    /** A valid 16 x 16 PNG whose IHDR (CRC recomputed) declares w x h. */
    private static byte[] pngDeclaring(int w, int h) throws IOException {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        ImageIO.write(new BufferedImage(16, 16, BufferedImage.TYPE_BYTE_GRAY), "png", out);
        byte[] b = out.toByteArray();
        java.nio.ByteBuffer.wrap(b).putInt(16, w).putInt(20, h);
        java.util.zip.CRC32 crc = new java.util.zip.CRC32();
        crc.update(b, 12, 17);
        java.nio.ByteBuffer.wrap(b).putInt(29, (int) crc.getValue());
        return b;
    }

    @Test
    void imageFilesAreReadAsTheCommandLineReadsThem() throws IOException {
        try (Classifier c = Classifier.load(small(Map.of()), Classifier.Options.defaults().withDevice("reference"))) {
            // Was OutOfMemoryError / NegativeArraySizeException: now refused from the header.
            Path big = Files.write(dir.resolve("big.png"), pngDeclaring(30_000, 30_000));
            assertMessage(assertThrows(ImageInputException.class, () -> c.classify(big)), "big.png", "30000 x 30000",
                    "-Dgraft.image.maxPixels");
            Path png = dir.resolve("ok.png");
            ImageIO.write(ModelFiles.image(60, 50, 1), "png", png.toFile());
            byte[] bytes = Files.readAllBytes(png);
            Path cut = Files.write(dir.resolve("cut.png"), java.util.Arrays.copyOf(bytes, bytes.length / 2));
            assertMessage(assertThrows(ImageInputException.class, () -> c.classify(cut)), "cut.png", "truncated or damaged");
            Path sliver = dir.resolve("sliver.png");
            ImageIO.write(new BufferedImage(1, 600_000, BufferedImage.TYPE_BYTE_GRAY), "png", sliver.toFile());
            assertMessage(assertThrows(ImageInputException.class, () -> c.classify(sliver)), "sliver.png", "too elongated");
            // Within twice the resize size nothing is subsampled: a file and its decoded image classify alike.
            org.junit.jupiter.api.Assertions.assertArrayEquals(c.classify(ImageIO.read(png.toFile())).logits(), c.classify(png).logits());
        }
    }

    @Test
    void everyCommonImageTypeClassifies() {
        try (Classifier c = Classifier.load(small(Map.of()), Classifier.Options.defaults().withDevice("reference"))) {
            for (int type : new int[] {BufferedImage.TYPE_BYTE_GRAY, BufferedImage.TYPE_USHORT_GRAY, BufferedImage.TYPE_INT_ARGB,
                    BufferedImage.TYPE_3BYTE_BGR, BufferedImage.TYPE_BYTE_INDEXED, BufferedImage.TYPE_BYTE_BINARY}) {
                BufferedImage img = new BufferedImage(40, 30, type);
                img.getGraphics().drawImage(ModelFiles.image(40, 30, type), 0, 0, null);
                Prediction p = c.classify(img);
                assertEquals(2, p.probabilities().length, "type " + type);
            }
        }
    }

    @Test
    void thresholdAndPositiveClassDecide() {
        Map<String, String> meta = new HashMap<>();
        meta.put(ModelInfo.META_CLASSES, "[\"normal\",\"pneumonia\"]");
        meta.put(ModelInfo.META_THRESHOLD, "0.3");
        meta.put(ModelInfo.META_POSITIVE_CLASS, "pneumonia");
        ModelInfo info = ModelInfo.read("f", meta, ResNetConfig.named("resnet18", 2));
        assertEquals(1, info.decision().decide(new double[] {0.65, 0.35}));
        assertEquals(0, info.decision().decide(new double[] {0.75, 0.25}));
        ModelInfo plain = ModelInfo.read("f", Map.of(), ResNetConfig.named("resnet18", 3));
        assertEquals(List.of("0", "1", "2"), plain.classes());
        assertEquals(1, plain.decision().decide(new double[] {0.2, 0.5, 0.3}));
        assertEquals(0, plain.decision().decide(new double[] {0.4, 0.4, 0.2}), "ties go to the first maximum, as torch.argmax");
    }

    /**
     * One flipped bit in a tensor's data: the streaming load (weights folded one tensor at a time) and the plain one
     * both refuse the file, naming the tensor, instead of predicting with a damaged weight.
     */
    @Test
    void aFlippedBitInTheWeights() throws IOException {
        Path f = small(Map.of());
        byte[] b = Files.readAllBytes(f);
        long headerEnd = 8 + java.nio.ByteBuffer.wrap(b, 0, 8).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
        try (dev.graft.loaders.StateDictFile in = dev.graft.loaders.StateDictFile.open(f)) {
            assertTrue(in.recordsDigests());
        }
        // fc.weight's first byte, found through the header's data_offsets
        String header = new String(b, 8, (int) (headerEnd - 8), java.nio.charset.StandardCharsets.UTF_8);
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"fc\\.weight\":\\{[^}]*\"data_offsets\":\\[(\\d+),").matcher(header);
        assertTrue(m.find(), header);
        long fcWeight = headerEnd + Long.parseLong(m.group(1));
        b[(int) fcWeight + 5] ^= 0x04;
        Files.write(f, b);
        for (boolean optimize : new boolean[] {true, false}) {
            Classifier.Options options = Classifier.Options.defaults().withDevice("reference").withOptimize(optimize);
            assertMessage(assertThrows(ModelFileException.class, () -> Classifier.load(f, options)), f.toString(),
                    "tensor 'fc.weight' (bytes " + String.format(java.util.Locale.ROOT, "%,d", fcWeight), "does not match the SHA-256");
        }
    }
}
