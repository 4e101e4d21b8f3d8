package dev.graft.explain;

import dev.graft.loaders.images.FloatImage;
import org.junit.jupiter.api.Test;

import java.awt.image.BufferedImage;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CamImageTest {
    /**
     * MATLAB's jet at its anchor points (the colormap's published definition: blue ramps in from 0.5 at 0, then
     * cyan, yellow, red, and red falls to 0.5 at 1).
     */
    @Test
    void jetMatchesItsAnchorPoints() {
        double[][] anchors = {
            {0, 0, 0, 0.5}, {0.125, 0, 0, 1}, {0.375, 0, 1, 1}, {0.5, 0.5, 1, 0.5},
            {0.625, 1, 1, 0}, {0.875, 1, 0, 0}, {1, 0.5, 0, 0},
        };
        for (double[] a : anchors) {
            float[] c = ColorMap.jet(a[0]);
            assertArrayEquals(new float[] {(float) a[1], (float) a[2], (float) a[3]}, c, 1e-6f, "jet(" + a[0] + ")");
        }
        assertArrayEquals(ColorMap.jet(0), ColorMap.jet(-3), 0f);
        assertArrayEquals(ColorMap.jet(1), ColorMap.jet(7), 0f);
        assertEquals(0x800000, ColorMap.jetRgb(1));
    }

    /** A pixel is (1 - alpha) * the un-normalised image + alpha * jet(map), rounded to 8 bits. */
    @Test
    void blendUndoesTheNormalisationAndMixesInTheHeat() {
        float[] mean = {0.485f, 0.456f, 0.406f};
        float[] std = {0.229f, 0.224f, 0.225f};
        FloatImage img = FloatImage.blank(3, 2, 2);
        double[] rgb = {0.2, 0.6, 1.0};
        for (int c = 0; c < 3; c++) {
            for (int y = 0; y < 2; y++) {
                for (int x = 0; x < 2; x++) {
                    img.set(c, y, x, (float) ((rgb[c] - mean[c]) / std[c]));
                }
            }
        }
        float[][] map = {{0, 0.5f}, {0.875f, 1}};
        BufferedImage b = CamImage.blend(img, mean, std, map, 0.4);
        for (int y = 0; y < 2; y++) {
            for (int x = 0; x < 2; x++) {
                float[] heat = ColorMap.jet(map[y][x]);
                int px = b.getRGB(x, y);
                for (int c = 0; c < 3; c++) {
                    int want = (int) Math.round((0.6 * rgb[c] + 0.4 * heat[c]) * 255);
                    int got = (px >> (16 - 8 * c)) & 0xff;
                    assertTrue(Math.abs(got - want) <= 1, "pixel " + y + "," + x + " channel " + c + ": " + got + " vs " + want);
                }
            }
        }
    }

    @Test
    void aSmallImageIsEnlargedAndGetsABarAndCaption() {
        FloatImage img = FloatImage.blank(3, 32, 32);
        float[][] map = new float[32][32];
        BufferedImage pic = CamImage.render(img, new float[] {0, 0, 0}, new float[] {1, 1, 1}, map,
                List.of("x.png", "Grad-CAM for cat\u001b[31m"), CamImage.DEFAULT_ALPHA);
        assertTrue(pic.getWidth() >= 320 + 16, "width " + pic.getWidth());
        assertTrue(pic.getHeight() >= 320 + 2 * 13, "height " + pic.getHeight());
        // the colour bar's top row is jet(1) (dark red) and its bottom row jet(0) (dark blue), within rounding
        int barX = 10 + 320 + 14 + 8;
        int top = -1;
        int bottom = -1;
        for (int y = 0; y < pic.getHeight(); y++) {
            int p = pic.getRGB(barX, y) & 0xffffff;
            if (((p >> 16) & 0xff) > 100 && (p & 0xffff) < 0x1010) {
                top = top < 0 ? y : top;
            }
            if ((p & 0xff) > 100 && (p >> 8) < 0x10) {
                bottom = y;
            }
        }
        assertTrue(top >= 0 && bottom > top + 300, "bar from " + top + " to " + bottom);
    }
}
