package dev.graft.loaders.images;

import dev.graft.engine.GraftException;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tag;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

/**
 * Damaged DICOM files (the mutations of {@link ImageFuzzProperties}, applied to the fixtures of each transfer syntax
 * Graft decodes): each ends in an image or a {@link GraftException}, never another exception, an error or a hang.
 */
class DicomFuzzProperties {
    private static final List<String> FIXTURES = List.of("u8_mono2", "u12_window_rescale_implicit", "s16_mono1_rescale",
            "s12_window_implicit", "rgb8_planar", "u16_deflated", "s16_big_endian", "u8_two_frames", "jpeg_baseline_gray",
            "jpeg_baseline_rgb");

    @Provide
    Arbitrary<String> files() {
        return Arbitraries.of(FIXTURES);
    }

    @Provide
    Arbitrary<ImageFuzzProperties.Mutation> mutations() {
        return new ImageFuzzProperties().mutations();
    }

    @Provide
    Arbitrary<Transform> transforms() {
        return Arbitraries.of(Transform.compose(List.of()), Transform.resize(4), Preprocessing.imagenet(16).evaluation());
    }

    /**
     * The file with Rows (0028,0010) and Columns (0028,0011) replaced (their low 16 bits, the US they are), found by
     * their explicit VR little endian headers; files in other encodings are left as they are.
     */
    static void declare(byte[] b, int w, int h) {
        for (int i = 132; i + 10 <= b.length; i++) {
            if (b[i] == 0x28 && b[i + 1] == 0 && b[i + 3] == 0 && b[i + 4] == 'U' && b[i + 5] == 'S' && b[i + 6] == 2 && b[i + 7] == 0) {
                int v = b[i + 2] == 0x10 ? h : b[i + 2] == 0x11 ? w : Integer.MIN_VALUE;
                if (v != Integer.MIN_VALUE) {
                    b[i + 8] = (byte) v;
                    b[i + 9] = (byte) (v >> 8);
                }
            }
        }
    }

    private static void decodesOrFailsTyped(String name, ImageFuzzProperties.Mutation mutation, Transform next, boolean lenient)
            throws IOException {
        byte[] original;
        try {
            original = Files.readAllBytes(DicomDecoderTest.fixture(name + ".dcm"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Path file = Files.createTempFile("graft-dicom-fuzz", ".dcm");
        try {
            Files.write(file, mutation.apply().apply(original));
            ImageDecoder.Options options = new ImageDecoder.Options(1 << 20, lenient);
            assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
                try {
                    new ImagePipeline(next, options, w -> { }).load(file, new SplittableRandom(1));
                } catch (GraftException expected) {
                    // a typed error naming the file is a correct outcome for a damaged file
                } catch (Throwable t) {
                    throw new AssertionError(name + " after '" + mutation + "': " + t + " instead of a GraftException", t);
                }
            });
        } finally {
            Files.deleteIfExists(file);
        }
    }

    /** About 4 s on 2 busy cores. */
    @Property(tries = 200)
    void damagedDicomDecodesOrFailsTyped(@ForAll("files") String name, @ForAll("mutations") ImageFuzzProperties.Mutation mutation,
                                         @ForAll("transforms") Transform next, @ForAll boolean lenient) throws IOException {
        decodesOrFailsTyped(name, mutation, next, lenient);
    }

    /** 20000 tries passed in 83 s. */
    @Property(tries = 20_000)
    @Tag("fuzz")
    void damagedDicomDecodesOrFailsTypedLong(@ForAll("files") String name, @ForAll("mutations") ImageFuzzProperties.Mutation mutation,
                                             @ForAll("transforms") Transform next, @ForAll boolean lenient) throws IOException {
        decodesOrFailsTyped(name, mutation, next, lenient);
    }
}
