package dev.graft.models;

import dev.graft.engine.GraftException;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tag;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The model-file metadata reader, fuzzed: random metadata maps over the keys a model file carries (class names,
 * image and resize sizes, mean, std, threshold, positive class, temperature, the ResNet configuration line), each value drawn
 * from valid values, edge values (0, -1, huge, 19-digit, NaN, inf, denormals, empty), malformed JSON and numbers,
 * control characters and random text. Reading must end in a {@link ModelMetadata} or a {@link GraftException}
 * subclass, never anything else (a NumberFormatException, NegativeArraySizeException, OutOfMemoryError or NPE
 * reaching a user is what issue 18 found in the CLI). The default build runs 2,000 maps (about a second); the
 * {@code fuzz} tag runs 100,000.
 */
class ModelMetadataFuzzProperties {
    private static final ResNetConfig NET = ResNetConfig.of(BlockType.BASIC, 1, 1, 1, 1).withWidths(4, 4, 4, 8, 8).withNumClasses(2);

    private static Arbitrary<String> number() {
        return Arbitraries.oneOf(
                Arbitraries.of("0", "-1", "1", "8", "224", "256", "4096", "4097", "30000", "100000", "2147483648",
                        "9999999999999999999", "-9999999999999999999", "NaN", "-NaN", "Infinity", "-Infinity", "inf", "1e-45",
                        "4.9e-324", "1e308", "1e309", "0x1p-1", "0.5f", "1_000", " 7 ", "", "-0", "0.0", "1.0", "0.5", "2", "-0.1"),
                Arbitraries.integers().map(String::valueOf),
                Arbitraries.doubles().map(String::valueOf));
    }

    private static Arbitrary<String> text() {
        return Arbitraries.oneOf(
                Arbitraries.strings().all().ofMaxLength(40),
                Arbitraries.strings().withChars("[]{}\",:\\0123456789abcN\u0000\n\u001b").ofMaxLength(40));
    }

    private static Arbitrary<String> classes() {
        Arbitrary<String> name = Arbitraries.oneOf(Arbitraries.of("a", "b", "normal", "pneumonia", "", " ", "\u0000", "\u001b[31m"),
                Arbitraries.strings().all().ofMaxLength(8));
        Arbitrary<String> list = name.list().ofMaxSize(4).map(l -> {
            StringBuilder b = new StringBuilder("[");
            for (int i = 0; i < l.size(); i++) {
                b.append(i == 0 ? "" : ",").append('"').append(l.get(i).replace("\\", "\\\\").replace("\"", "\\\"")).append('"');
            }
            return b.append(']').toString();
        });
        return Arbitraries.oneOf(list, Arbitraries.of("[\"a\",\"b\"]", "[\"a\",\"a\"]", "[1,2]", "[null,\"b\"]", "{}", "[", "null",
                "[\"a\",\"b\",\"c\"]", "[[\"a\"],\"b\"]"), text());
    }

    private static Arbitrary<String> triple() {
        return Arbitraries.oneOf(Combinators.combine(number(), number(), number()).as((a, b, c) -> a + "," + b + "," + c),
                Arbitraries.of("0.5,0.5", "0.5,0.5,0.5,0.5", ",,", "0.5;0.5;0.5"), text());
    }

    private static Arbitrary<String> config() {
        return Arbitraries.oneOf(
                Combinators.combine(Arbitraries.of("basic", "bottleneck", "other"), number(), number(), number(), number())
                        .as((b, l, g, w, s) -> "block=" + b + " layers=" + l + ",1,1,1 groups=" + g + " width_per_group=" + w
                                + " stem=" + s + " planes=4,4,8,8 classes=2 in_channels=3"),
                Arbitraries.of(NET.describe(), NET.describe().replace("in_channels=3", "in_channels=2"),
                        "block=basic layers=20000,1,1,1 groups=1 width_per_group=64 stem=4 planes=4,4,8,8 classes=2 in_channels=3"),
                text());
    }

    @Provide
    Arbitrary<Map<String, String>> metadata() {
        Arbitrary<Map.Entry<String, String>> entry = Arbitraries.oneOf(
                classes().map(v -> Map.entry(ModelMetadata.META_CLASSES, v)),
                number().map(v -> Map.entry(ModelMetadata.META_IMAGE_SIZE, v)),
                number().map(v -> Map.entry(ModelMetadata.META_RESIZE_SIZE, v)),
                triple().map(v -> Map.entry(ModelMetadata.META_MEAN, v)),
                triple().map(v -> Map.entry(ModelMetadata.META_STD, v)),
                number().map(v -> Map.entry(DecisionRule.META_THRESHOLD, v)),
                number().map(v -> Map.entry(Temperature.META_TEMPERATURE, v)),
                Arbitraries.oneOf(number(), text(), Arbitraries.of("a", "b", "normal")).map(v -> Map.entry(DecisionRule.META_POSITIVE_CLASS, v)),
                config().map(v -> Map.entry(ResNet.META_CONFIG, v)));
        return entry.list().ofMaxSize(8).map(l -> {
            Map<String, String> m = new LinkedHashMap<>();
            l.forEach(e -> m.put(e.getKey(), e.getValue()));
            return m;
        });
    }

    private static void read(Map<String, String> meta) {
        try {
            ResNetConfig config = ModelMetadata.architecture("model.safetensors", meta, () -> NET);
            ModelMetadata.read("model.safetensors", meta, config);
        } catch (GraftException e) {
            if (e.getMessage() == null || e.getMessage().isBlank()) {
                throw new AssertionError("a typed error without a message for " + meta, e);
            }
        } catch (Throwable t) {
            throw new AssertionError("metadata " + meta + " ended in " + t, t);
        }
    }

    @Property(tries = 2000)
    void metadataIsReadOrRefusedWithATypedError(@ForAll("metadata") Map<String, String> meta) {
        read(meta);
    }

    @Property(tries = 100_000)
    @Tag("fuzz")
    void metadataIsReadOrRefusedWithATypedErrorLong(@ForAll("metadata") Map<String, String> meta) {
        read(meta);
    }

    /** The issue's cases, one by one. */
    @Property(tries = 1)
    void theIssuesCasesAreTypedErrors() {
        for (Map<String, String> m : List.of(Map.of(ModelMetadata.META_IMAGE_SIZE, "30000"), Map.of(ModelMetadata.META_IMAGE_SIZE, "100000"),
                Map.of(ModelMetadata.META_RESIZE_SIZE, "40000"), Map.of(ModelMetadata.META_MEAN, "NaN,NaN,NaN"),
                Map.of(ModelMetadata.META_STD, "1e-45,1e-45,1e-45"), Map.of(ModelMetadata.META_CLASSES, "[\"a\",\"a\"]"),
                Map.of(DecisionRule.META_THRESHOLD, "2"), Map.of(DecisionRule.META_THRESHOLD, "NaN"), Map.of(DecisionRule.META_THRESHOLD, "-Infinity"),
                Map.of(ResNet.META_CONFIG, "block=basic layers=20000,1,1,1 groups=1 width_per_group=64 stem=4 planes=4,4,8,8 classes=2 in_channels=3"))) {
            try {
                ResNetConfig config = ModelMetadata.architecture("model.safetensors", m, () -> NET);
                ModelMetadata.read("model.safetensors", m, config);
                throw new AssertionError(m + " was accepted");
            } catch (GraftException expected) {
                // refused, typed
            }
        }
    }
}
