package dev.graft.loaders.images;

import dev.graft.engine.HostTensor;
import dev.graft.loaders.Npy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * DICOM files made by {@code src/test/resources/dicom/make_fixtures.py} (pydicom, dcmtk, gdcm), decoded and compared
 * pixel for pixel with pydicom's decoding of the same file (the .npy next to each, see the script for how it is
 * derived).
 */
class DicomDecoderTest {
    /**
     * Our transform runs in double and rounds once to float (at most 6e-8 in [0, 1]); pydicom's runs in float64 with its
     * own order of operations (about 1e-15). 1e-6 leaves room for both and still fails on a one-level error of a 16-bit
     * image (1.5e-5).
     */
    private static final double EXACT = 1e-6;

    @TempDir
    Path dir;

    static Path fixture(String name) {
        try {
            return Path.of(DicomDecoderTest.class.getResource("/dicom/" + name).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Decodes NAME.dcm at full resolution and checks it against NAME.npy; returns the warnings. */
    private static List<String> matches(String name, double tolerance) {
        List<String> warnings = new ArrayList<>();
        FloatImage image = ImageDecoder.read(fixture(name + ".dcm"), null, ImageDecoder.Options.defaults(), warnings::add);
        HostTensor expected = Npy.read(fixture(name + ".npy"));
        int[] shape = expected.shape().dims();
        int h = shape[0];
        int w = shape[1];
        boolean colour = shape.length == 3;
        assertEquals(List.of(3, h, w), List.of(image.channels(), image.height(), image.width()), name + ": shape");
        double[] e = expected.doubles();
        double worst = 0;
        for (int c = 0; c < 3; c++) {
            for (int y = 0; y < h; y++) {
                for (int x = 0; x < w; x++) {
                    double want = colour ? e[(y * w + x) * 3 + c] : e[y * w + x];
                    double got = image.get(c, y, x);
                    worst = Math.max(worst, Math.abs(want - got));
                    if (Math.abs(want - got) > tolerance) {
                        throw new AssertionError(name + ": channel " + c + " pixel (" + y + ", " + x + ") is " + got + ", pydicom gives " + want);
                    }
                }
            }
        }
        System.out.println(name + ": largest difference from pydicom " + worst);
        return warnings;
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "u8_mono2",                      // 8 bits, full range
        "u12_window_rescale_implicit",   // 12 of 16 bits, slope 1.5 intercept -100, first of two windows, implicit VR
        "s16_mono1_rescale",             // signed 16 bits, MONOCHROME1, rescale, full range, undefined-length sequence
        "s12_window_implicit",           // signed 12 bits not sign-extended in the file, window, implicit VR + sequence
        "u16_linear_exact",              // VOI LUT Function LINEAR_EXACT
        "u16_sigmoid",                   // VOI LUT Function SIGMOID
        "u8_window_width1",              // LINEAR window of width 1: a threshold
        "rgb8",                          // RGB, interleaved
        "rgb8_planar",                   // RGB, one plane per colour
        "u16_deflated",                  // deflated explicit VR little endian
        "s16_big_endian",                // explicit VR big endian, signed, window
    })
    void uncompressedMatchesPydicom(String name) {
        assertEquals(List.of(), matches(name, EXACT));
    }

    @Test
    void multiFrameUsesTheFirstFrameAndSaysSo() {
        List<String> warnings = matches("u8_two_frames", EXACT);
        assertEquals(1, warnings.size(), warnings.toString());
        assertTrue(warnings.get(0).contains("holds 2 frames; using the first"), warnings.get(0));
    }

    @Test
    void jpegBaselineMatchesPydicom() {
        // pydicom decodes through Pillow (libjpeg), ImageIO through its own IJG-derived decoder: the same integer IDCT and
        // upsampling, so the 8-bit samples agree exactly here (measured) and only float rounding remains. A JDK whose
        // decoder differed by one level would fail this by 1/255 (gray is then windowed: up to 2/119).
        assertEquals(List.of(), matches("jpeg_baseline_gray", EXACT));  // MONOCHROME2 with a window
        assertEquals(List.of(), matches("jpeg_baseline_rgb", EXACT));   // YBR_FULL_422 in the file, RGB out
    }

    private DatasetException refused(Path file, String... fragments) {
        DatasetException e = assertThrows(DatasetException.class,
                () -> ImageDecoder.read(file, null, ImageDecoder.Options.defaults(), w -> { }));
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
        for (String f : fragments) {
            assertTrue(e.getMessage().contains(f), "'" + f + "' missing from: " + e.getMessage());
        }
        return e;
    }

    /**
     * Lossless JPEG (process 14) decoded by TwelveMonkeys' reader. pydicom 2.3 here has no lossless JPEG handler, so each
     * .npy is pydicom's decoding of the uncompressed file it was compressed from (make_fixtures.py also checks dcmtk's
     * own decoder gives back that file's pixels exactly): lossless must reproduce the stored values, so the same 1e-6
     * as uncompressed files (one stored level of a 16-bit image fails it).
     */
    @ParameterizedTest
    @ValueSource(strings = {
        "jpeg_lossless",                  // .57, selection value 6, 12 of 16 bits, rescale and window
        "jpeg_lossless_sv1_u8",           // .70, 8 bits
        "jpeg_lossless_sv1_s16_mono1",    // .70, signed 16 bits (two's complement patterns in the JPEG), MONOCHROME1, rescale
        "jpeg_lossless_s16_window",       // .57 with selection value 1, signed 16 bits, window
        "jpeg_lossless_rgb8",             // .70, RGB 8 bits
        "jpeg_lossless_ramp",             // .70, 8 bits with a window (the runtime jar's test file)
    })
    void jpegLosslessMatchesTheUncompressedSource(String name) {
        assertEquals(List.of(), matches(name, EXACT));
    }

    /** RLE Lossless, decoded here by hand; pydicom 2.3 decodes RLE itself, and its decoding is the .npy. */
    @ParameterizedTest
    @ValueSource(strings = {
        "rle_u8_mono2",                     // one segment
        "rle_u12_window_rescale_implicit",  // two segments (high byte, low byte), rescale and window
        "rle_s16_mono1_rescale",            // signed 16 bits, MONOCHROME1
        "rle_rgb8",                         // three segments, R G B
    })
    void rleMatchesPydicom(String name) {
        assertEquals(List.of(), matches(name, EXACT));
    }

    @Test
    void rleMultiFrameUsesTheFirstFragment() {
        List<String> warnings = matches("rle_u8_two_frames", EXACT);
        assertEquals(1, warnings.size(), warnings.toString());
    }

    @Test
    void packBitsFollowsTheThreeCases() {
        // 2 = copy the next 3 bytes; -3 = repeat the next byte 4 times; -128 = nothing; 0 = copy 1 byte.
        byte[] in = {2, 10, 11, 12, -3, 7, -128, 0, 99};
        byte[] out = new byte[8];
        assertEquals(8, DicomRle.unpack(in, 0, in.length, out));
        assertEquals("[10, 11, 12, 7, 7, 7, 7, 99]", Arrays.toString(out));
    }

    @Test
    void damagedRleIsAClearError() throws IOException {
        byte[] whole = Files.readAllBytes(fixture("rle_u8_mono2.dcm"));
        refused(Files.write(dir.resolve("cut.dcm"), Arrays.copyOf(whole, whole.length - 100)), "RLE segment", "damaged");
    }

    @Test
    void jpegExtended8BitMatchesPydicom() {
        // The JDK's reader against Pillow's libjpeg, as for baseline: the same 8-bit samples (measured), float rounding left.
        assertEquals(List.of(), matches("jpeg_extended_u8", EXACT));
    }

    @Test
    void losslessSubsamplesAsUncompressedDoes() {
        Transform next = Transform.resize(3);
        FloatImage full = ImageDecoder.read(fixture("jpeg_lossless_sv1_s16_mono1.dcm"));
        FloatImage sub = ImageDecoder.read(fixture("jpeg_lossless_sv1_s16_mono1.dcm"), next, ImageDecoder.Options.defaults(), w -> { });
        assertEquals(List.of(3, 6, 8), List.of(sub.channels(), sub.height(), sub.width()));
        for (int y = 0; y < 6; y++) {
            for (int x = 0; x < 8; x++) {
                assertEquals(full.get(0, 2 * y, 2 * x), sub.get(0, y, x), "(" + y + ", " + x + ")");
            }
        }
    }

    @Test
    void damagedLosslessJpegIsAClearError() throws IOException {
        byte[] whole = Files.readAllBytes(fixture("jpeg_lossless_sv1_u8.dcm"));
        refused(Files.write(dir.resolve("cut.dcm"), Arrays.copyOf(whole, whole.length - 60)), "lossless JPEG", "damaged");
    }

    @Test
    void compressedSyntaxesWithoutADecoderAreRefusedWithTheWayToConvert() {
        refused(fixture("jpeg2000.dcm"), "JPEG 2000 Image Compression (Lossless Only)", "1.2.840.10008.1.2.4.90", "gdcmconv --raw");
        refused(fixture("jpeg_extended_u12.dcm"), "12-bit JPEG Extended", "1.2.840.10008.1.2.4.51", "dcmdjpeg", "gdcmconv --raw");
    }

    @Test
    void uncompressedYbrIsRefusedWithTheConversion() throws IOException {
        // rgb8.dcm with Photometric Interpretation (0028,0004) CS "RGB " rewritten as "YBR_FULL" (length 4 -> 8).
        byte[] b = Files.readAllBytes(fixture("rgb8.dcm"));
        byte[] from = {0x28, 0, 0x04, 0, 'C', 'S', 4, 0, 'R', 'G', 'B', ' '};
        byte[] to = {0x28, 0, 0x04, 0, 'C', 'S', 8, 0, 'Y', 'B', 'R', '_', 'F', 'U', 'L', 'L'};
        int at = -1;
        for (int i = 0; i + from.length <= b.length && at < 0; i++) {
            at = Arrays.equals(b, i, i + from.length, from, 0, from.length) ? i : -1;
        }
        assertTrue(at > 0, "no photometric element found");
        byte[] ybr = new byte[b.length + 4];
        System.arraycopy(b, 0, ybr, 0, at);
        System.arraycopy(to, 0, ybr, at, to.length);
        System.arraycopy(b, at + from.length, ybr, at + to.length, b.length - at - from.length);
        refused(Files.write(dir.resolve("ybr.dcm"), ybr), "YBR_FULL", "gdcmconv --raw --photometric-interpretation RGB");
    }

    @Test
    void aDcmThatIsNotDicomIsRefused() throws IOException {
        Path png = Files.write(dir.resolve("scan.dcm"), ImageBytes.pngDeclaring(4, 4));
        refused(png, "not a DICOM file", "DICM");
        refused(Files.write(dir.resolve("empty.dcm"), new byte[0]), "not a DICOM file");
    }

    @Test
    void truncatedPixelDataIsAnErrorOrWithLenientTheRowsThatArrived() throws IOException {
        byte[] whole = Files.readAllBytes(fixture("u8_mono2.dcm"));
        // u8_mono2 is 16 x 12 at one byte per pixel; its pixel data is the file's last 192 bytes. Keeping 6 rows and 13
        // bytes of the 7th cuts inside row 7.
        Path cut = Files.write(dir.resolve("cut.dcm"), Arrays.copyOf(whole, whole.length - 16 * 5 - 3));
        refused(cut, "truncated or damaged", "ends in row 7 of 12", "--lenient");
        List<String> warnings = new ArrayList<>();
        FloatImage partial = ImageDecoder.read(cut, null, ImageDecoder.Options.defaults().withLenient(true), warnings::add);
        assertEquals(1, warnings.size());
        assertTrue(warnings.get(0).contains("the rest is black"), warnings.get(0));
        FloatImage full = ImageDecoder.read(fixture("u8_mono2.dcm"));
        for (int y = 0; y < 12; y++) {
            for (int x = 0; x < 16; x++) {
                assertEquals(y < 6 ? full.get(0, y, x) : 0f, partial.get(0, y, x), 1e-6, "(" + y + ", " + x + ")");
            }
        }
        // Cut in the header: no pixel data at all.
        refused(Files.write(dir.resolve("header.dcm"), Arrays.copyOf(whole, 300)), "truncated");
    }

    @Test
    void theDicomMarkerIsEnoughWhateverTheName() throws IOException {
        Path noExtension = Files.copy(fixture("u8_mono2.dcm"), dir.resolve("IM000001"));
        assertEquals(Arrays.toString(ImageDecoder.read(fixture("u8_mono2.dcm")).data()),
                Arrays.toString(ImageDecoder.read(noExtension).data()));
        assertTrue(ImageFolder.isImage(Path.of("a/b/CT.1.2.DCM")));
    }

    @Test
    void largeImagesAreSubsampledAsOtherFormatsAre() {
        // A resize to 3 needs a shorter side of 2 x 3 = 6: the 16 x 12 images are read every 2nd pixel from (0, 0).
        Transform next = Transform.resize(3);
        assertEquals(2, ImageDecoder.subsampling(16, 12, next.inputSideNeeded()));
        for (String name : List.of("s16_mono1_rescale", "rgb8_planar")) {
            FloatImage full = ImageDecoder.read(fixture(name + ".dcm"));
            FloatImage sub = ImageDecoder.read(fixture(name + ".dcm"), next, ImageDecoder.Options.defaults(), w -> { });
            assertEquals(List.of(3, 6, 8), List.of(sub.channels(), sub.height(), sub.width()), name);
            for (int c = 0; c < 3; c++) {
                for (int y = 0; y < 6; y++) {
                    for (int x = 0; x < 8; x++) {
                        // Equal, not close: the full range (s16, no window) is taken over every pixel, kept or not.
                        assertEquals(full.get(c, 2 * y, 2 * x), sub.get(c, y, x), name + " (" + c + ", " + y + ", " + x + ")");
                    }
                }
            }
        }
    }

    @Test
    void thePixelLimitIsCheckedBeforeThePixelData() throws IOException {
        // 16 x 12 = 192 pixels, over a limit of 191 even with the pixel data cut off: refused from the header.
        byte[] whole = Files.readAllBytes(fixture("u8_mono2.dcm"));
        Path headerOnly = Files.write(dir.resolve("header.dcm"), Arrays.copyOf(whole, whole.length - 190));
        DatasetException e = assertThrows(DatasetException.class,
                () -> ImageDecoder.read(headerOnly, null, new ImageDecoder.Options(191, false), w -> { }));
        assertTrue(e.getMessage().contains("16 x 12 pixels") && e.getMessage().contains("over the limit of 191 pixels"), e.getMessage());
    }
}
