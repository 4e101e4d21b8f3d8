package dev.graft.loaders.images;

import org.junit.jupiter.api.Test;

import static dev.graft.loaders.images.DicomGrayscale.Function.LINEAR;
import static dev.graft.loaders.images.DicomGrayscale.Function.LINEAR_EXACT;
import static dev.graft.loaders.images.DicomGrayscale.Function.SIGMOID;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The value mapping against PS3.3 C.11.2.1.2 worked by hand; the fixtures of DicomDecoderTest check it against pydicom. */
class DicomGrayscaleTest {
    private static final double EPS = 1e-12; // double arithmetic on small numbers: exact to a few ulps

    private static double window(double x, double c, double w, DicomGrayscale.Function f) {
        return DicomGrayscale.windowed(x, new DicomGrayscale.Window(c, w, f));
    }

    @Test
    void linearWindowFollowsTheStandard() {
        // c = 40, w = 400: 0 at or below c - 0.5 - (w - 1) / 2 = -160, 1 above c - 0.5 + (w - 1) / 2 = 239,
        // between ((x - 39.5) / 399 + 0.5).
        assertEquals(0, window(-160, 40, 400, LINEAR), EPS);
        assertEquals((-159 - 39.5) / 399 + 0.5, window(-159, 40, 400, LINEAR), EPS);
        assertEquals(0.5, window(39.5, 40, 400, LINEAR), EPS);
        assertEquals(1, window(239, 40, 400, LINEAR), EPS); // (239 - 39.5) / 399 + 0.5 = 1 exactly
        assertEquals(1, window(1e6, 40, 400, LINEAR), EPS);
        // Width 1 is a threshold at c - 0.5.
        assertEquals(0, window(127.5, 128, 1, LINEAR), EPS);
        assertEquals(1, window(127.51, 128, 1, LINEAR), EPS);
        assertThrows(IllegalArgumentException.class, () -> new DicomGrayscale.Window(0, 0.5, LINEAR));
    }

    @Test
    void linearExactAndSigmoidFollowTheStandard() {
        assertEquals(0, window(-5, 0, 10, LINEAR_EXACT), EPS);
        assertEquals(0.5, window(0, 0, 10, LINEAR_EXACT), EPS);
        assertEquals(0.75, window(2.5, 0, 10, LINEAR_EXACT), EPS);
        assertEquals(1, window(5.001, 0, 10, LINEAR_EXACT), EPS);
        assertEquals(1 / (1 + Math.exp(-1)), window(1, 0, 4, SIGMOID), EPS); // -4 (x - c) / w = -1
        assertEquals(0.5, window(7, 7, 100, SIGMOID), EPS);
        assertThrows(IllegalArgumentException.class, () -> new DicomGrayscale.Window(0, 0, LINEAR_EXACT));
    }

    @Test
    void rescaleThenFullRangeThenMonochrome1() {
        // CT-like: slope 2, intercept -1024; stored 0..1024 spans -1024..1024 HU.
        DicomGrayscale mono2 = new DicomGrayscale(2, -1024, null, false);
        assertEquals(0, mono2.modality(512), EPS);
        assertEquals(0.5, mono2.toUnit(512, -1024, 1024), EPS);
        assertEquals(0, mono2.toUnit(0, -1024, 1024), EPS);
        assertEquals(0.25, mono2.toUnit(256, -1024, 1024), EPS);
        DicomGrayscale mono1 = new DicomGrayscale(2, -1024, null, true);
        assertEquals(1, mono1.toUnit(0, -1024, 1024), EPS);
        assertEquals(0.75, mono1.toUnit(256, -1024, 1024), EPS);
        // A constant image: no range to spread, every pixel 0 (MONOCHROME1: 1, white, as it displays).
        assertEquals(0, mono2.toUnit(7, 10, 10), EPS);
        assertEquals(1, mono1.toUnit(7, 10, 10), EPS);
        // The window applies to the modality value, not the stored one: stored 532 is 40 HU, the centre of (40, 400).
        DicomGrayscale ct = new DicomGrayscale(2, -1024, new DicomGrayscale.Window(40, 400, LINEAR), false);
        assertEquals((40 - 39.5) / 399 + 0.5, ct.toUnit(532, 0, 0), EPS);
        DicomGrayscale ct1 = new DicomGrayscale(2, -1024, new DicomGrayscale.Window(40, 400, LINEAR), true);
        assertEquals(1 - ((40 - 39.5) / 399 + 0.5), ct1.toUnit(532, 0, 0), EPS);
    }
}
