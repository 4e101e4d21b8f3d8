package dev.graft.loaders.images;

import javax.imageio.ImageReader;
import javax.imageio.event.IIOReadUpdateListener;
import javax.imageio.event.IIOReadWarningListener;
import java.awt.image.BufferedImage;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * What went wrong while one image's pixels were read. ImageIO reports a JPEG that ends early or holds corrupt data
 * through warnings ("Premature end of JPEG file", "Corrupt JPEG data: ...") and fills the rest with grey; a PNG or
 * BMP that ends early throws after the rows before the cut are written. Row updates tell whether any row decoded
 * (progress reports will not do: the PNG reader reports a row's progress before decoding it).
 */
final class ReadDamage implements IIOReadWarningListener, IIOReadUpdateListener {
    /** A damaged file can repeat one warning for every scan; a few distinct ones say enough. */
    private static final int KEPT = 3;

    private final Set<String> warnings = new LinkedHashSet<>();
    private long rows;
    private String failure;

    private ReadDamage() {
    }

    static ReadDamage watch(ImageReader reader) {
        ReadDamage d = new ReadDamage();
        reader.addIIOReadWarningListener(d);
        reader.addIIOReadUpdateListener(d);
        return d;
    }

    /** Whether some rows decoded before a failure. */
    boolean progressed() {
        return rows > 0;
    }

    void failed(String reason) {
        failure = reason;
    }

    boolean readFailed() {
        return failure != null;
    }

    boolean any() {
        return failure != null || !warnings.isEmpty();
    }

    @Override
    public String toString() {
        Set<String> all = new LinkedHashSet<>();
        if (failure != null) {
            all.add(failure + " after " + rows + (rows == 1 ? " row" : " rows"));
        }
        all.addAll(warnings);
        return String.join("; ", all);
    }

    @Override
    public void warningOccurred(ImageReader source, String warning) {
        if (warnings.size() < KEPT) {
            warnings.add(warning == null || warning.isBlank() ? "a warning without text" : warning.strip());
        }
    }

    @Override
    public void imageUpdate(ImageReader source, BufferedImage image, int minX, int minY, int width, int height, int periodX,
                            int periodY, int[] bands) {
        rows += height;
    }

    @Override
    public void passStarted(ImageReader source, BufferedImage image, int pass, int minPass, int maxPass, int minX, int minY,
                            int periodX, int periodY, int[] bands) {
    }

    @Override
    public void passComplete(ImageReader source, BufferedImage image) {
    }

    @Override
    public void thumbnailPassStarted(ImageReader source, BufferedImage thumbnail, int pass, int minPass, int maxPass, int minX,
                                     int minY, int periodX, int periodY, int[] bands) {
    }

    @Override
    public void thumbnailUpdate(ImageReader source, BufferedImage thumbnail, int minX, int minY, int width, int height,
                                int periodX, int periodY, int[] bands) {
    }

    @Override
    public void thumbnailPassComplete(ImageReader source, BufferedImage thumbnail) {
    }
}
