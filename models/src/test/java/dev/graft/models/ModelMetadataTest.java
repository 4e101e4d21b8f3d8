package dev.graft.models;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The model-file metadata rules: defaults, what is accepted, and a typed error naming the key and value otherwise. */
class ModelMetadataTest {
    private static final ResNetConfig TWO = ResNetConfig.named("resnet18", 2);

    private static ModelMetadata read(Map<String, String> meta) {
        return ModelMetadata.read("m.safetensors", meta, TWO);
    }

    @Test
    void withoutMetadataItIsTorchvisionsImageNetEvaluation() {
        ModelMetadata m = read(Map.of());
        assertEquals(List.of("0", "1"), m.classes());
        assertEquals(224, m.imageSize());
        assertEquals(256, m.resizeSize());
        assertArrayEquals(new float[] {0.485f, 0.456f, 0.406f}, m.mean());
        assertArrayEquals(new float[] {0.229f, 0.224f, 0.225f}, m.std());
        assertTrue(!m.decision().hasThreshold());
    }

    @Test
    void whatGraftTrainWritesReadsBack() {
        Map<String, String> meta = new HashMap<>();
        meta.put("graft.classes", "[\"normal\",\"pneumonia, bacterial\"]");
        meta.put("graft.image_size", "32");
        meta.put("graft.resize_size", "37");
        meta.put("graft.mean", "0.5,0.5,0.5");
        meta.put("graft.std", "0.25, 0.25 ,1e-6");
        meta.put("graft.threshold", "0.3");
        ModelMetadata m = read(meta);
        assertEquals(List.of("normal", "pneumonia, bacterial"), m.classes());
        assertEquals(32, m.imageSize());
        assertEquals(37, m.resizeSize());
        assertArrayEquals(new float[] {0.25f, 0.25f, 1e-6f}, m.std());
        assertEquals("P(pneumonia, bacterial) >= 0.3", m.decision().describe());
        assertEquals(32, read(Map.of("graft.image_size", "32")).resizeSize(), "an image size alone resizes to the crop");
        assertEquals(4096, read(Map.of("graft.image_size", "4096")).imageSize());
    }

    @ParameterizedTest(name = "{0} = ''{1}''")
    @CsvSource(delimiter = '|', value = {
            "graft.image_size  | 30000          | the image size 30000 is outside [8, 4096] pixels",
            "graft.image_size  | 100000         | the image size 100000 is outside [8, 4096] pixels",
            "graft.image_size  | 4              | the image size 4 is outside [8, 4096] pixels",
            "graft.image_size  | -224           | the image size -224 is outside [8, 4096] pixels",
            "graft.image_size  | 2.5e2          | is not a whole number of pixels",
            "graft.resize_size | 40000          | the resize size 40000 is outside [image size 224, 4096] pixels",
            "graft.resize_size | 100            | the resize size 100 is outside [image size 224, 4096] pixels",
            "graft.mean        | NaN,0.5,0.5    | NaN is not a finite number",
            "graft.mean        | 0.5,Infinity,0 | Infinity is not a finite number",
            "graft.mean        | 1e39,0,0       | 1e39 is not a finite number",
            "graft.mean        | 0.5,0.5        | has 2 value(s), not 3",
            "graft.std         | 1e-45,0.2,0.2  | 1e-45 is below 1.0E-6",
            "graft.std         | 0.2,0,0.2      | 0 is below 1.0E-6",
            "graft.std         | 0.2,-0.2,0.2   | -0.2 is below 1.0E-6",
            "graft.std         | 0.2,NaN,0.2    | NaN is not a finite number",
            "graft.std         | 0.2,x,0.2      | 'x' is not a number",
            "graft.classes     | [\"a\",\"a\"]  | repeats the class name 'a'",
            "graft.classes     | [\"a\",\"\"]   | has an empty class name at position 1",
            "graft.classes     | [\"a\",\" \"]  | has an empty class name at position 1",
            "graft.classes     | [\"a\",2]      | is not a JSON array of strings",
            "graft.classes     | a,b            | is not a JSON array of strings",
            "graft.classes     | [\"a\"]        | names 1 classes but the network has 2 outputs"})
    void aBadValueIsATypedErrorNamingTheKeyAndTheValue(String key, String value, String reason) {
        ModelMetadataException e = assertThrows(ModelMetadataException.class, () -> read(Map.of(key, value)));
        assertTrue(e.getMessage().startsWith("m.safetensors: metadata " + key + " = '" + value + "'"), e.getMessage());
        assertTrue(e.getMessage().contains(reason), e.getMessage());
        assertTrue(e.getMessage().contains("remove the key") || e.getMessage().contains("list one name per output")
                || e.getMessage().contains("unique") || e.getMessage().contains("needs a name"), "says what to do: " + e.getMessage());
    }

    @Test
    void theNetworkMustTakeImages() {
        ModelMetadataException e = assertThrows(ModelMetadataException.class,
                () -> ModelMetadata.read("m", Map.of(), TWO.withInChannels(4)));
        assertTrue(e.getMessage().contains("4 input channels"), e.getMessage());
        assertEquals(List.of("0", "1"), ModelMetadata.read("m", Map.of(), TWO.withInChannels(1)).classes());
    }

    @Test
    void anArchitectureLineOutsideTheResNetFamilyNamesTheKey() {
        String huge = "block=basic layers=20000,1,1,1 groups=1 width_per_group=64 stem=64 planes=64,128,256,512 classes=2 in_channels=3";
        ModelMetadataException e = assertThrows(ModelMetadataException.class,
                () -> ModelMetadata.architecture("m", Map.of(ResNet.META_CONFIG, huge), () -> TWO));
        assertTrue(e.getMessage().startsWith("m: metadata graft.resnet = 'block=basic layers=20000"), e.getMessage());
        assertTrue(e.getMessage().contains("at most 64 blocks"), e.getMessage());
        assertEquals(TWO, ModelMetadata.architecture("m", Map.of(), () -> TWO), "without the key: inferred");
    }

    @Test
    void resNetSizesAreBoundedToTheFamily() {
        for (String name : ResNetConfig.architectures()) {
            ResNetConfig.named(name, 1000); // every torchvision ResNet fits
        }
        ResNetConfig.of(BlockType.BOTTLENECK, 64, 64, 64, 64);
        assertThrows(ModelException.class, () -> ResNetConfig.of(BlockType.BASIC, 2, 65, 2, 2));
        assertThrows(ModelException.class, () -> ResNetConfig.of(BlockType.BASIC, 2, 2, 2, 2).withWidths(64, 64, 128, 256, 8192));
        assertThrows(ModelException.class, () -> ResNetConfig.of(BlockType.BASIC, 2, 2, 2, 2).withWidths(5000, 64, 128, 256, 512));
        assertThrows(ModelException.class, () -> ResNetConfig.of(BlockType.BOTTLENECK, 3, 4, 6, 3).withGroups(64, 128));
        assertThrows(ModelException.class, () -> ResNetConfig.named("resnet18", 1_000_000));
        ModelException e = assertThrows(ModelException.class, () -> ResNetConfig.of(BlockType.BOTTLENECK, 3, 4, 6, 3)
                .withGroups(Integer.MAX_VALUE / 2, 64));
        assertTrue(e.getMessage().contains("is over 4096 channels"), e.getMessage());
    }

    @Test
    void aNonFiniteOutputHasNoProbabilities() {
        double[] p = ClassProbabilities.softmax(new float[] {9, 1000, 1000, 7}, 1, 2, "x.png");
        assertArrayEquals(new double[] {0.5, 0.5}, p);
        for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}) {
            NonFiniteOutputException e = assertThrows(NonFiniteOutputException.class,
                    () -> ClassProbabilities.softmax(new float[] {0.1f, bad}, 0, 2, "x.png"));
            assertTrue(e.getMessage().startsWith("x.png: the model's output is not finite (logits [0.1, " + bad + "])"), e.getMessage());
        }
    }

    @Test
    void controlCharactersAreEscapedForTheTerminal() {
        assertEquals("plain, \"quoted\" é ✓", PrintableText.escape("plain, \"quoted\" é ✓"));
        assertEquals("a\\u001b[2Jb\\nc\\td\\re\\u007ff\\u0085g\\u202eh", PrintableText.escape("a\u001b[2Jb\nc\td\re\u007ff\u0085g\u202eh"));
    }
}
