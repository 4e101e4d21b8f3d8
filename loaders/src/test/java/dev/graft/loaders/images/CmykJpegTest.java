package dev.graft.loaders.images;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * CMYK and YCCK JPEGs decode to the colour their inks make: R = (1 - C)(1 - K), likewise G and B. ImageIO's own
 * {@code read} gave black for plain CMYK red and magenta-grey (0.85, 0, 0.95) for YCCK red.
 */
class CmykJpegTest {
    /**
     * Half a grey level. Flat blocks carry only a DC coefficient, which JPEG at quality 1.0 keeps exactly: measured
     * error below 1e-7 (float rounding of v/255), so this leaves room for another decoder's rounding but not for a
     * wrong conversion (one level of ink is 1/255).
     */
    private static final float TOLERANCE = 0.5f / 255f;

    @TempDir
    Path dir;

    /** C, M, Y, K ink amounts (0..255) and the RGB they make. */
    private static final int[][] INKS = {
        {0, 255, 255, 0}, // red
        {255, 0, 255, 0}, // green
        {255, 255, 0, 0}, // blue
        {0, 0, 0, 255}, // black
        {0, 0, 0, 0}, // white
        {0, 0, 255, 128}, // dark yellow: R = G = 127/255
    };
    private static final float[][] RGB = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {0, 0, 0}, {1, 1, 1}, {127 / 255f, 127 / 255f, 0}};

    private void check(String name, int[] ink, float[] rgb, Integer adobeTransform, boolean inverted) throws IOException {
        int[] stored = new int[4];
        for (int i = 0; i < 4; i++) {
            stored[i] = inverted ? 255 - ink[i] : ink[i];
        }
        Path f = Files.write(dir.resolve(name + ".jpg"), ImageBytes.fourComponentJpeg(16, 16, stored, adobeTransform));
        FloatImage img = ImageDecoder.read(f);
        assertEquals(3, img.channels());
        for (int c = 0; c < 3; c++) {
            assertEquals(rgb[c], img.get(c, 8, 8), TOLERANCE, name + " channel " + c);
        }
    }

    @Test
    void adobeCmykIsStoredInvertedAsPhotoshopWritesIt() throws IOException {
        for (int i = 0; i < INKS.length; i++) {
            check("adobe-cmyk-" + i, INKS[i], RGB[i], 0, true);
        }
    }

    @Test
    void adobeYcckIsConvertedThenInverted() throws IOException {
        for (int i = 0; i < INKS.length; i++) {
            check("adobe-ycck-" + i, INKS[i], RGB[i], 2, true);
        }
    }

    @Test
    void cmykWithoutAnAdobeMarkerIsPlainInk() throws IOException {
        for (int i = 0; i < INKS.length; i++) {
            check("plain-cmyk-" + i, INKS[i], RGB[i], null, false);
        }
    }

    @Test
    void subsampledLikeAnyOtherImage() throws IOException {
        Path f = Files.write(dir.resolve("big.jpg"), ImageBytes.fourComponentJpeg(700, 600, new int[] {255, 0, 0, 255}, 0));
        FloatImage img = ImageDecoder.read(f, Transform.resize(100), ImageDecoder.Options.defaults(), w -> { });
        assertEquals(200, img.height(), "step 3 leaves 200 rows, twice the resize");
        assertEquals(1f, img.get(0, 100, 100), TOLERANCE);
        assertEquals(0f, img.get(1, 100, 100), TOLERANCE);
    }
}
