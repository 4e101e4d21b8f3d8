package dev.graft.loaders.images;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The inputs of issue 18 that ended in OutOfMemoryError, NegativeArraySizeException or a silent partial image: each
 * is now refused from its header, or reported, with a message naming the file, the size and what to do.
 */
class ImageDecoderTest {
    private static final Transform EVALUATION = Preprocessing.imagenet(224).evaluation();

    @TempDir
    Path dir;

    private Path file(String name, byte[] bytes) throws IOException {
        return Files.write(dir.resolve(name), bytes);
    }

    private static DatasetException refused(Path file, Transform next, ImageDecoder.Options options, String... fragments) {
        DatasetException e = assertThrows(DatasetException.class, () -> ImageDecoder.read(file, next, options, w -> { }));
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
        for (String f : fragments) {
            assertTrue(e.getMessage().contains(f), "'" + f + "' missing from: " + e.getMessage());
        }
        return e;
    }

    @Test
    void oversizedImagesAreRefusedFromTheHeader() throws IOException {
        // Were OutOfMemoryError (20000 x 20000) and NegativeArraySizeException (30000 x 30000), for PNG and JPEG alike.
        for (int side : new int[] {20_000, 30_000}) {
            String size = side + " x " + side;
            String megapixels = side == 20_000 ? "400.0 megapixels" : "900.0 megapixels";
            for (Path f : List.of(file("big" + side + ".png", ImageBytes.pngDeclaring(side, side)),
                    file("big" + side + ".jpg", ImageBytes.jpegDeclaring(side, side)))) {
                for (Transform next : Arrays.asList(null, EVALUATION)) {
                    refused(f, next, ImageDecoder.Options.defaults(), size, megapixels, "limit of 100000000 pixels",
                            "--max-image-pixels " + (long) side * side, "-Dgraft.image.maxPixels=");
                }
            }
        }
        // The largest sizes the formats can declare: JPEG's 65535 x 65535 (libjpeg stops at 65500) and PNG's 2^31 - 1 (the
        // product overflows an int).
        refused(file("max.jpg", ImageBytes.jpegDeclaring(65_500, 65_500)), EVALUATION, ImageDecoder.Options.defaults(), "65500 x 65500");
        refused(file("over.jpg", ImageBytes.jpegDeclaring(65_535, 65_535)), EVALUATION, ImageDecoder.Options.defaults(), "65500 pixels");
        refused(file("max.png", ImageBytes.pngDeclaring(Integer.MAX_VALUE, Integer.MAX_VALUE)), EVALUATION,
                ImageDecoder.Options.defaults(), "2147483647 x 2147483647");
    }

    @Test
    void aRaisedLimitStillGuardsArraySizes() throws IOException {
        ImageDecoder.Options unlimited = new ImageDecoder.Options(Long.MAX_VALUE, false);
        Path f = file("huge.png", ImageBytes.pngDeclaring(60_000, 60_000));
        refused(f, null, unlimited, "60000 x 60000", "too large to decode into memory at once");
        // Subsampled to 513 x 513 for the evaluation resize, it fits; then the missing pixel data is the error.
        refused(f, EVALUATION, unlimited);
    }

    @Test
    void zeroAndNegativeSizesAreDamage() throws IOException {
        for (int[] wh : new int[][] {{0, 10}, {10, 0}, {-5, 10}, {10, Integer.MIN_VALUE}}) {
            Path f = file("odd" + wh[0] + "_" + wh[1] + ".png", ImageBytes.pngDeclaring(wh[0], wh[1]));
            refused(f, EVALUATION, ImageDecoder.Options.defaults());
        }
        refused(file("zero.jpg", ImageBytes.jpegDeclaring(0, 16)), EVALUATION, ImageDecoder.Options.defaults());
        byte[] bmp = ImageBytes.write(ImageBytes.noisyRgb(8, 8, 1), "bmp");
        java.nio.ByteBuffer.wrap(bmp).order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt(18, -8); // negative width
        refused(file("negative.bmp", bmp), EVALUATION, ImageDecoder.Options.defaults());
    }

    @Test
    void elongatedImagesAreRefusedBeforeTheResizeBlowsThemUp() throws IOException {
        // Were OutOfMemoryError (1 x 600000) and NegativeArraySizeException (1 x 1000000): resizing the 1-pixel side to
        // 256 made the other 153.6 or 256 million pixels long.
        for (int h : new int[] {600_000, 1_000_000}) {
            Path f = file("sliver" + h + ".png", ImageBytes.write(new BufferedImage(1, h, BufferedImage.TYPE_BYTE_GRAY), "png"));
            refused(f, EVALUATION, ImageDecoder.Options.defaults(), "1 x " + h, "too elongated", "crop it");
            DatasetException viaPipeline = assertThrows(DatasetException.class,
                    () -> new ImagePipeline(EVALUATION, ImageDecoder.Options.defaults(), w -> { }).load(f, null));
            assertTrue(viaPipeline.getMessage().contains(f.toString()), viaPipeline.getMessage());
        }
        // Elongated but within bounds: a 40 x 4000 strip resizes to 256 x 25600.
        Path strip = file("strip.png", ImageBytes.write(new BufferedImage(40, 4000, BufferedImage.TYPE_BYTE_GRAY), "png"));
        assertEquals(224, new ImagePipeline(EVALUATION, ImageDecoder.Options.defaults(), w -> { }).load(strip, null).width());
    }

    @Test
    void theLimitComesFromOptionsOrTheSystemProperty() throws IOException {
        Path f = file("small.png", ImageBytes.write(ImageBytes.noisyRgb(40, 30, 1), "png"));
        refused(f, null, ImageDecoder.Options.defaults().withMaxPixels(1000L), "40 x 30", "limit of 1000 pixels",
                "--max-image-pixels 1200");
        assertEquals(30, ImageDecoder.read(f, null, ImageDecoder.Options.defaults().withMaxPixels(1200L), w -> { }).height());
        String old = System.getProperty(ImageDecoder.MAX_PIXELS_PROPERTY);
        try {
            System.setProperty(ImageDecoder.MAX_PIXELS_PROPERTY, "1000");
            assertEquals(1000, ImageDecoder.Options.defaults().maxPixels());
            assertThrows(DatasetException.class, () -> ImageDecoder.read(f));
            System.setProperty(ImageDecoder.MAX_PIXELS_PROPERTY, "lots");
            DatasetException e = assertThrows(DatasetException.class, ImageDecoder.Options::defaults);
            assertTrue(e.getMessage().contains(ImageDecoder.MAX_PIXELS_PROPERTY) && e.getMessage().contains("lots"), e.getMessage());
        } finally {
            if (old == null) {
                System.clearProperty(ImageDecoder.MAX_PIXELS_PROPERTY);
            } else {
                System.setProperty(ImageDecoder.MAX_PIXELS_PROPERTY, old);
            }
        }
        assertEquals(ImageDecoder.DEFAULT_MAX_PIXELS, ImageDecoder.Options.defaults().maxPixels());
        assertThrows(DatasetException.class, () -> new ImageDecoder.Options(0, false));
    }

    @Test
    void truncatedJpegIsAnErrorUnlessLenient() throws IOException {
        BufferedImage original = ImageBytes.noisyRgb(128, 96, 2);
        byte[] jpeg = ImageBytes.write(original, "jpeg");
        // Was predicted on the decodable part with no warning.
        for (byte[] cut : List.of(Arrays.copyOf(jpeg, jpeg.length * 2 / 3), Arrays.copyOf(jpeg, jpeg.length - 2))) {
            Path f = file("cut" + cut.length + ".jpg", cut);
            refused(f, EVALUATION, ImageDecoder.Options.defaults(), "truncated or damaged", "--lenient");
            List<String> warnings = new ArrayList<>();
            FloatImage img = ImageDecoder.read(f, EVALUATION, ImageDecoder.Options.defaults().withLenient(true), warnings::add);
            assertEquals(96, img.height());
            assertEquals(1, warnings.size(), warnings.toString());
            assertTrue(warnings.get(0).contains(f.toString()) && warnings.get(0).contains("truncated or damaged"), warnings.get(0));
        }
    }

    @Test
    void pngCutInItsPixelDataIsAnErrorUnlessLenient() throws IOException {
        BufferedImage original = ImageBytes.noisyRgb(64, 64, 3);
        byte[] png = ImageBytes.write(original, "png");
        Path f = file("cut.png", Arrays.copyOf(png, png.length / 2));
        refused(f, null, ImageDecoder.Options.defaults(), "truncated or damaged", "unexpected end", "--lenient");
        List<String> warnings = new ArrayList<>();
        FloatImage img = ImageDecoder.read(f, null, ImageDecoder.Options.defaults().withLenient(true), warnings::add);
        assertEquals(1, warnings.size(), warnings.toString());
        assertTrue(warnings.get(0).contains(f.toString()) && warnings.get(0).contains("the rest is black"), warnings.get(0));
        // The rows before the cut are the original's, the last row is black.
        int p = original.getRGB(5, 2);
        assertEquals(((p >> 16) & 0xff) / 255f, img.get(0, 2, 5), 1e-6);
        assertEquals(0f, img.get(1, 63, 10));
        // Cut before any row decoded: nothing to use, an error even when lenient.
        Path header = file("header.png", Arrays.copyOf(png, 60));
        assertThrows(DatasetException.class,
                () -> ImageDecoder.read(header, null, ImageDecoder.Options.defaults().withLenient(true), w -> { }));
    }

    @Test
    void truncatedBmpIsAnErrorUnlessLenient() throws IOException {
        byte[] bmp = ImageBytes.write(ImageBytes.noisyRgb(32, 32, 4), "bmp");
        Path f = file("cut.bmp", Arrays.copyOf(bmp, bmp.length * 3 / 4));
        refused(f, null, ImageDecoder.Options.defaults(), "truncated or damaged", "unexpected end of file");
        List<String> warnings = new ArrayList<>();
        assertEquals(32, ImageDecoder.read(f, null, ImageDecoder.Options.defaults().withLenient(true), warnings::add).width());
        assertEquals(1, warnings.size());
    }

    @Test
    void ordinaryImagesDecodeExactlyAsImageIoReadDecodesThem() throws IOException {
        BufferedImage rgb = ImageBytes.noisyRgb(40, 30, 8);
        BufferedImage gray = new BufferedImage(40, 30, BufferedImage.TYPE_BYTE_GRAY);
        BufferedImage indexed = new BufferedImage(40, 30, BufferedImage.TYPE_BYTE_INDEXED);
        gray.getGraphics().drawImage(rgb, 0, 0, null);
        indexed.getGraphics().drawImage(rgb, 0, 0, null);
        for (String format : List.of("png", "jpeg", "bmp")) {
            for (BufferedImage img : List.of(rgb, gray, indexed)) {
                if (format.equals("jpeg") && img == indexed) {
                    continue; // no JPEG writer for palettes
                }
                Path f = file("plain" + img.getType() + "." + format, ImageBytes.write(img, format));
                float[] expected = ImageDecoder.toRgb(javax.imageio.ImageIO.read(f.toFile())).data();
                assertTrue(Arrays.equals(expected, ImageDecoder.read(f, EVALUATION, ImageDecoder.Options.defaults(), w -> { }).data()),
                        f.toString());
            }
        }
    }

    @Test
    void largeImagesAreDecodedSubsampledForTheTransform() throws IOException {
        Path png = file("large.png", ImageBytes.write(ImageBytes.noisyRgb(1100, 1030, 6), "png"));
        FloatImage img = ImageDecoder.read(png, EVALUATION, ImageDecoder.Options.defaults(), w -> { });
        assertEquals(550, img.width(), "step 2 keeps 515 >= 2 x 256 rows");
        assertEquals(515, img.height());
        Path jpg = file("large.jpg", ImageBytes.write(ImageBytes.noisyRgb(1100, 1030, 6), "jpeg"));
        assertEquals(515, ImageDecoder.read(jpg, EVALUATION, ImageDecoder.Options.defaults(), w -> { }).height());
        assertEquals(1030, ImageDecoder.read(jpg).height(), "no transform: full resolution");
    }
}
