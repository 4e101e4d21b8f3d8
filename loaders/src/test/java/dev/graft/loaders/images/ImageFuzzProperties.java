package dev.graft.loaders.images;

import dev.graft.engine.GraftException;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tag;
import net.jqwik.api.lifecycle.AfterContainer;

import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageOutputStream;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

/**
 * Damaged image files: every truncation, byte flip, growth or header size edit (to zero, negative, huge) of a valid
 * PNG, JPEG or BMP must end in an image or a {@link GraftException}: never another exception, an error such as
 * OutOfMemoryError, or a hang. The default build runs a few seconds of tries; {@code -Dgroups=fuzz} runs the long one.
 */
class ImageFuzzProperties {
    /** Decoding damaged files under a small limit keeps each try fast; the limit itself is tested in ImageDecoderTest. */
    private static final long FUZZ_MAX_PIXELS = 1 << 20;
    private static final Map<String, byte[]> ORIGINALS = originals();
    private static final AtomicLong COUNTER = new AtomicLong();
    private static Path dir;

    /** A named mutation, so a failing case reports what was done to which file. */
    record Mutation(String description, UnaryOperator<byte[]> apply) {
        @Override
        public String toString() {
            return description;
        }
    }

    private static Map<String, byte[]> originals() {
        BufferedImage rgb = ImageBytes.noisyRgb(24, 20, 7);
        BufferedImage gray = new BufferedImage(20, 18, BufferedImage.TYPE_BYTE_GRAY);
        BufferedImage indexed = new BufferedImage(20, 16, BufferedImage.TYPE_BYTE_INDEXED);
        BufferedImage argb = new BufferedImage(17, 13, BufferedImage.TYPE_INT_ARGB);
        for (BufferedImage target : List.of(gray, indexed, argb)) {
            target.getGraphics().drawImage(rgb, 0, 0, null);
        }
        return Map.ofEntries(
                Map.entry("rgb.png", ImageBytes.write(rgb, "png")),
                Map.entry("gray16.png", resource("gray16_23x31.png")),
                Map.entry("indexed.png", ImageBytes.write(indexed, "png")),
                Map.entry("argb.png", ImageBytes.write(argb, "png")),
                Map.entry("interlaced.png", progressive(rgb, "png")),
                Map.entry("baseline.jpg", ImageBytes.write(rgb, "jpeg")),
                Map.entry("progressive.jpg", progressive(rgb, "jpeg")),
                Map.entry("gray.jpg", ImageBytes.write(gray, "jpeg")),
                Map.entry("cmyk.jpg", ImageBytes.fourComponentJpeg(12, 10, new int[] {10, 200, 90, 250}, 0)),
                Map.entry("ycck.jpg", ImageBytes.fourComponentJpeg(12, 10, new int[] {10, 200, 90, 250}, 2)),
                Map.entry("rgb.bmp", ImageBytes.write(rgb, "bmp")),
                Map.entry("indexed.bmp", ImageBytes.write(indexed, "bmp")));
    }

    private static byte[] resource(String name) {
        try (InputStream in = ImageFuzzProperties.class.getResourceAsStream("/images/" + name)) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Adam7-interlaced PNG or progressive JPEG. */
    private static byte[] progressive(BufferedImage img, String format) {
        try {
            ImageWriter w = ImageIO.getImageWritersByFormatName(format).next();
            ImageWriteParam p = w.getDefaultWriteParam();
            p.setProgressiveMode(ImageWriteParam.MODE_DEFAULT);
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            try (ImageOutputStream out = ImageIO.createImageOutputStream(b)) {
                w.setOutput(out);
                w.write(null, new IIOImage(img, null, null), p);
            }
            w.dispose();
            return b.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Provide
    Arbitrary<String> files() {
        return Arbitraries.of(ORIGINALS.keySet().stream().sorted().toList());
    }

    @Provide
    Arbitrary<Mutation> mutations() {
        Arbitrary<Integer> anywhere = Arbitraries.integers().between(0, 1 << 20);
        Arbitrary<Mutation> truncate = anywhere.map(cut -> new Mutation("truncate at " + cut + " (mod length + 1)",
                b -> Arrays.copyOf(b, cut % (b.length + 1))));
        Arbitrary<Mutation> flip = Combinators.combine(anywhere.list().ofMinSize(1).ofMaxSize(8), Arbitraries.bytes().list().ofSize(8))
                .as((at, values) -> new Mutation("set bytes at " + at + " to " + values, b -> {
                    byte[] c = b.clone();
                    for (int i = 0; i < at.size(); i++) {
                        c[at.get(i) % c.length] = values.get(i);
                    }
                    return c;
                }));
        Arbitrary<Mutation> flipHeader = Combinators.combine(Arbitraries.integers().between(0, 200), Arbitraries.bytes())
                .as((at, value) -> new Mutation("set header byte " + at + " to " + value, b -> {
                    byte[] c = b.clone();
                    c[at % c.length] = value;
                    return c;
                }));
        Arbitrary<Mutation> grow = Combinators.combine(anywhere, Arbitraries.bytes().array(byte[].class).ofMinSize(1).ofMaxSize(64))
                .as((at, extra) -> new Mutation("insert " + extra.length + " bytes at " + at, b -> {
                    int pos = at % (b.length + 1);
                    byte[] c = new byte[b.length + extra.length];
                    System.arraycopy(b, 0, c, 0, pos);
                    System.arraycopy(extra, 0, c, pos, extra.length);
                    System.arraycopy(b, pos, c, pos + extra.length, b.length - pos);
                    return c;
                }));
        Arbitrary<Integer> size = Arbitraries.oneOf(Arbitraries.of(0, 1, -1, 2, 4096, 65_500, 65_535, 1 << 20, Integer.MAX_VALUE,
                Integer.MIN_VALUE), Arbitraries.integers());
        Arbitrary<Mutation> resize = Combinators.combine(size, size)
                .as((w, h) -> new Mutation("declare " + w + " x " + h, b -> declare(b, w, h)));
        return Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(2, truncate), net.jqwik.api.Tuple.of(3, flip), net.jqwik.api.Tuple.of(3, flipHeader),
                net.jqwik.api.Tuple.of(2, grow), net.jqwik.api.Tuple.of(2, resize));
    }

    /** The file with its header's width and height replaced, where each format keeps them. */
    static byte[] declare(byte[] original, int w, int h) {
        byte[] b = original.clone();
        if (b[0] == (byte) 0x89 && b[1] == 'P') { // PNG: IHDR data after signature, length and type
            ByteBuffer.wrap(b).putInt(16, w).putInt(20, h);
        } else if (b[0] == (byte) 0xff && b[1] == (byte) 0xd8) { // JPEG: 16-bit height then width in the frame header
            int sof = ImageBytes.sofOffset(b);
            ByteBuffer.wrap(b).putShort(sof + 5, (short) h).putShort(sof + 7, (short) w);
        } else if (b.length > 132 && b[128] == 'D' && b[129] == 'I' && b[130] == 'C' && b[131] == 'M') {
            DicomFuzzProperties.declare(b, w, h);
        } else { // BMP: 32-bit little-endian width then height in BITMAPINFOHEADER
            ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putInt(18, w).putInt(22, h);
        }
        return b;
    }

    @Provide
    Arbitrary<Transform> transforms() {
        return Arbitraries.of(Transform.compose(List.of()), Transform.resize(8), Preprocessing.imagenet(224).evaluation(),
                Preprocessing.imagenet(16).training(Augmentation.DEFAULT));
    }

    /** Decodes the mutated file; passes on an image or a GraftException, fails on anything else or after 10 seconds. */
    private static void decodesOrFailsTyped(String name, Mutation mutation, Transform next, boolean lenient) throws IOException {
        if (dir == null) {
            dir = Files.createTempDirectory("graft-image-fuzz");
        }
        Path file = dir.resolve(COUNTER.incrementAndGet() + "-" + name);
        Files.write(file, mutation.apply().apply(ORIGINALS.get(name)));
        ImageDecoder.Options options = new ImageDecoder.Options(FUZZ_MAX_PIXELS, lenient);
        try {
            assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
                try {
                    new ImagePipeline(next, options, w -> { }).load(file, new java.util.SplittableRandom(1));
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
    @Property(tries = 400)
    void damagedFilesDecodeOrFailTyped(@ForAll("files") String name, @ForAll("mutations") Mutation mutation,
                                       @ForAll("transforms") Transform next, @ForAll boolean lenient) throws IOException {
        decodesOrFailsTyped(name, mutation, next, lenient);
    }

    /** 30000 tries passed in 94 s. */
    @Property(tries = 30_000)
    @Tag("fuzz")
    void damagedFilesDecodeOrFailTypedLong(@ForAll("files") String name, @ForAll("mutations") Mutation mutation,
                                           @ForAll("transforms") Transform next, @ForAll boolean lenient) throws IOException {
        decodesOrFailsTyped(name, mutation, next, lenient);
    }

    @AfterContainer
    static void removeDirectory() throws IOException {
        if (dir != null) {
            Files.deleteIfExists(dir);
        }
    }
}
