package dev.graft.loaders.images;

import java.util.Locale;

/**
 * How a grayscale DICOM pixel becomes a value in [0, 1]: the stored value goes through the modality rescale
 * ({@code slope * stored + intercept}, PS3.3 C.7.6.3.1.4), then through the VOI window when the file has one (PS3.3
 * C.11.2.1.2: LINEAR, LINEAR_EXACT or SIGMOID, output range [0, 1]), else the image's own modality min..max maps
 * linearly to [0, 1]. MONOCHROME1 (minimum is white) is inverted last, so both photometric interpretations display
 * dark-is-low as MONOCHROME2 does.
 *
 * @param window null when the file has none (or an unusable one): the full range is used
 */
record DicomGrayscale(double slope, double intercept, Window window, boolean monochrome1) {

    /** A VOI window: the first value of Window Center (0028,1050) and Window Width (0028,1051), and the VOI LUT Function (0028,1056). */
    record Window(double center, double width, Function function) {
        Window {
            if (function == Function.LINEAR ? width < 1 : width <= 0) {
                throw new IllegalArgumentException(String.format(Locale.ROOT, "window width %s is not allowed for %s (PS3.3 C.11.2.1.2)",
                        width, function));
            }
        }
    }

    enum Function { LINEAR, LINEAR_EXACT, SIGMOID }

    /** The modality value (Hounsfield units for CT) of a stored value. */
    double modality(int stored) {
        return stored * slope + intercept;
    }

    /**
     * The display value in [0, 1] of one stored value; {@code lo} and {@code hi} are the image's smallest and largest
     * modality values, used only when there is no window (equal: every pixel is 0).
     */
    double toUnit(int stored, double lo, double hi) {
        double x = modality(stored);
        double y;
        if (window != null) {
            y = windowed(x, window);
        } else {
            y = hi > lo ? (x - lo) / (hi - lo) : 0;
        }
        return monochrome1 ? 1 - y : y;
    }

    /** PS3.3 C.11.2.1.2 with ymin = 0 and ymax = 1. */
    static double windowed(double x, Window w) {
        double c = w.center();
        double width = w.width();
        switch (w.function()) {
            case LINEAR -> {
                // The -0.5 and -1 place the window's edges between integer values: width 1 is a threshold at c - 0.5.
                if (x <= c - 0.5 - (width - 1) / 2) {
                    return 0;
                }
                if (x > c - 0.5 + (width - 1) / 2) {
                    return 1;
                }
                return (x - (c - 0.5)) / (width - 1) + 0.5;
            }
            case LINEAR_EXACT -> {
                if (x <= c - width / 2) {
                    return 0;
                }
                if (x > c + width / 2) {
                    return 1;
                }
                return (x - c) / width + 0.5;
            }
            case SIGMOID -> {
                return 1 / (1 + Math.exp(-4 * (x - c) / width));
            }
            default -> throw new AssertionError(w.function());
        }
    }
}
