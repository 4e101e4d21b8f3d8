package dev.graft.loaders.images;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * The image pixel module (PS3.3 C.7.6.3) and the rescale and VOI attributes of a DICOM data set, read up to its Pixel
 * Data (7FE0,0010), where the stream is left; every other element is skipped. Checked here, so the pixel reader can
 * trust it.
 */
final class DicomHeader {
    int samplesPerPixel = 1;
    String photometric;
    int planarConfiguration;
    int frames = 1;
    int rows = -1;
    int columns = -1;
    int bitsAllocated = -1;
    int bitsStored = -1;
    int highBit = -1;
    int pixelRepresentation;
    private String windowCenter;
    private String windowWidth;
    private String voiFunction;
    private String slope;
    private String intercept;

    private DicomHeader() {
    }

    static DicomHeader read(DicomStream in, Path file) throws IOException {
        DicomHeader h = new DicomHeader();
        while (true) {
            if (in.peekGroup() < 0) {
                throw new DatasetException("cannot read DICOM file " + file + ": it has no Pixel Data (7FE0,0010), so it is not an image "
                        + "(a report, a DICOMDIR or another non-image object)");
            }
            in.next();
            switch (in.tag) {
                case 0x00280002 -> h.samplesPerPixel = in.us(in.length);
                case 0x00280004 -> h.photometric = in.text(in.length).toUpperCase(Locale.ROOT);
                case 0x00280006 -> h.planarConfiguration = in.us(in.length);
                case 0x00280008 -> h.frames = number(in.text(in.length), "Number of Frames (0028,0008)", file).intValue();
                case 0x00280010 -> h.rows = in.us(in.length);
                case 0x00280011 -> h.columns = in.us(in.length);
                case 0x00280100 -> h.bitsAllocated = in.us(in.length);
                case 0x00280101 -> h.bitsStored = in.us(in.length);
                case 0x00280102 -> h.highBit = in.us(in.length);
                case 0x00280103 -> h.pixelRepresentation = in.us(in.length);
                case 0x00281050 -> h.windowCenter = in.text(in.length);
                case 0x00281051 -> h.windowWidth = in.text(in.length);
                case 0x00281052 -> h.intercept = in.text(in.length);
                case 0x00281053 -> h.slope = in.text(in.length);
                case 0x00281056 -> h.voiFunction = in.text(in.length).toUpperCase(Locale.ROOT);
                case 0x7FE00010 -> {
                    h.check(file);
                    return h;
                }
                case 0x7FE00008, 0x7FE00009 -> throw new DatasetException("cannot read DICOM file " + file
                        + ": its pixels are floating point (Float Pixel Data), which Graft does not read");
                default -> in.skipValue();
            }
        }
    }

    private void check(Path file) {
        String where = "cannot read DICOM file " + file + ": ";
        if (rows < 1 || columns < 1) {
            throw new DatasetException(where + "it declares " + columns + " x " + rows + " pixels (Columns x Rows); the file is damaged");
        }
        if (bitsAllocated != 8 && bitsAllocated != 16) {
            throw new DatasetException(where + "it has " + bitsAllocated + " bits allocated per sample; Graft reads 8 and 16");
        }
        if (bitsStored < 1) {
            bitsStored = bitsAllocated;
        }
        if (bitsStored > bitsAllocated) {
            throw new DatasetException(where + "it stores " + bitsStored + " bits in " + bitsAllocated + "; the file is damaged");
        }
        if (highBit < 0) {
            highBit = bitsStored - 1;
        }
        if (highBit >= bitsAllocated || highBit + 1 < bitsStored) {
            throw new DatasetException(where + "its high bit " + highBit + " does not fit " + bitsStored + " stored bits in "
                    + bitsAllocated + "; the file is damaged");
        }
        if (frames < 1) {
            frames = 1;
        }
        if (photometric == null) {
            photometric = samplesPerPixel == 3 ? "RGB" : "MONOCHROME2";
        }
        boolean gray = samplesPerPixel == 1 && (photometric.equals("MONOCHROME1") || photometric.equals("MONOCHROME2"));
        boolean colour = samplesPerPixel == 3 && (photometric.equals("RGB") || photometric.startsWith("YBR_FULL"));
        if (!gray && !colour) {
            throw new DatasetException(where + "its photometric interpretation is " + photometric + " with " + samplesPerPixel
                    + " sample(s) per pixel; Graft reads MONOCHROME1, MONOCHROME2 and RGB (and YBR in JPEG); convert it, "
                    + "e.g. 'gdcmconv --raw --photometric-interpretation RGB " + file + " out.dcm'");
        }
        if (colour && pixelRepresentation != 0) {
            throw new DatasetException(where + "its colour samples are signed; the file is damaged");
        }
    }

    boolean monochrome() {
        return samplesPerPixel == 1;
    }

    /**
     * The value mapping of a grayscale image. A window the standard does not allow (a LINEAR width below 1, a function
     * Graft does not know) is dropped with a warning, and the image's full range is used.
     */
    DicomGrayscale grayscale(Path file, Consumer<String> warnings) {
        double s = slope == null || slope.isEmpty() ? 1 : number(first(slope), "Rescale Slope (0028,1053)", file).doubleValue();
        double b = intercept == null || intercept.isEmpty() ? 0 : number(first(intercept), "Rescale Intercept (0028,1052)", file).doubleValue();
        DicomGrayscale.Window window = null;
        if (windowCenter != null && !windowCenter.isEmpty() && windowWidth != null && !windowWidth.isEmpty()) {
            double c = number(first(windowCenter), "Window Center (0028,1050)", file).doubleValue();
            double w = number(first(windowWidth), "Window Width (0028,1051)", file).doubleValue();
            DicomGrayscale.Function f = DicomGrayscale.Function.LINEAR;
            if (voiFunction != null && !voiFunction.isEmpty()) {
                try {
                    f = DicomGrayscale.Function.valueOf(voiFunction);
                } catch (IllegalArgumentException e) {
                    warnings.accept("DICOM file " + file + " has an unknown VOI LUT Function '" + voiFunction + "'; using LINEAR");
                }
            }
            try {
                window = new DicomGrayscale.Window(c, w, f);
            } catch (IllegalArgumentException e) {
                warnings.accept("DICOM file " + file + ": " + e.getMessage() + "; using the image's full range instead");
            }
        }
        return new DicomGrayscale(s, b, window, photometric.equals("MONOCHROME1"));
    }

    /** The first of a multi-valued (backslash-separated) string. */
    private static String first(String value) {
        int i = value.indexOf('\\');
        return (i < 0 ? value : value.substring(0, i)).trim();
    }

    private static Number number(String text, String what, Path file) {
        try {
            return Double.parseDouble(first(text));
        } catch (NumberFormatException e) {
            throw new DatasetException("cannot read DICOM file " + file + ": its " + what + " is '" + text + "', not a number; the file is damaged");
        }
    }
}
