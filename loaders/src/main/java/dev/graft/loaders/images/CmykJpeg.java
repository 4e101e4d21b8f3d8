package dev.graft.loaders.images;

import javax.imageio.ImageReader;
import javax.imageio.metadata.IIOMetadata;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;

import java.awt.image.Raster;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Four-component (CMYK and YCCK) JPEGs, as Photoshop and print workflows write them. ImageIO's {@code read} turns
 * them into RGB wrongly: it always assumes inverted CMYK and leaves YCCK unconverted (a red YCCK square reads as
 * magenta). {@code readRaster} hands over the components instead, YCCK already turned into CMYK by libjpeg, and
 * this class converts them: when the Adobe APP14 marker is present the values are stored inverted (0 = full ink,
 * Photoshop's convention, as libjpeg and browsers read them), otherwise as plain ink amounts.
 *
 * <p>The conversion is the naive one, R = (1 - C)(1 - K) and likewise for G and B, as browsers do for files without
 * a colour profile; an embedded ICC profile is not applied, so print-calibrated colours come out somewhat brighter
 * and more saturated than a colour-managed viewer shows them.
 */
final class CmykJpeg {
    private static final String FORMAT = "javax_imageio_jpeg_image_1.0";

    /** How the components are stored: {@code inverted} when an Adobe APP14 marker is present (transform 0 CMYK or 2 YCCK). */
    record Layout(boolean inverted) {
    }

    private CmykJpeg() {
    }

    /** The layout of a four-component JPEG from its header; null for one, two or three components. */
    static Layout layout(ImageReader reader) throws IOException {
        IIOMetadata md = reader.getImageMetadata(0);
        if (md == null || !java.util.Arrays.asList(md.getMetadataFormatNames()).contains(FORMAT)) {
            return null;
        }
        Node root = md.getAsTree(FORMAT);
        Element sof = first(root, "sof");
        if (sof == null || !"4".equals(sof.getAttribute("numFrameComponents"))) {
            return null;
        }
        return new Layout(first(root, "app14Adobe") != null);
    }

    /** CMYK components (after libjpeg's YCCK conversion) to RGB in [0, 1]. */
    static FloatImage toRgb(Raster r, Layout layout, Path file) {
        if (r.getNumBands() != 4) {
            throw new DatasetException("cannot decode image " + file + ": a four-component JPEG decoded to " + r.getNumBands() + " components");
        }
        int w = r.getWidth();
        int h = r.getHeight();
        FloatImage out = FloatImage.blank(3, h, w);
        float[] d = out.data();
        int plane = h * w;
        int[] px = new int[4 * w];
        for (int y = 0; y < h; y++) {
            r.getPixels(r.getMinX(), r.getMinY() + y, w, 1, px);
            for (int x = 0; x < w; x++) {
                // Remaining light per component: 1 - ink. Adobe files store 255 - ink, so the sample is the light itself.
                float c = light(px[4 * x], layout.inverted());
                float m = light(px[4 * x + 1], layout.inverted());
                float yel = light(px[4 * x + 2], layout.inverted());
                float k = light(px[4 * x + 3], layout.inverted());
                int i = y * w + x;
                d[i] = c * k;
                d[plane + i] = m * k;
                d[2 * plane + i] = yel * k;
            }
        }
        return out;
    }

    private static float light(int sample, boolean inverted) {
        float v = (sample & 0xff) / 255f;
        return inverted ? v : 1 - v;
    }

    private static Element first(Node root, String name) {
        NodeList l = ((Element) root).getElementsByTagName(name);
        return l.getLength() == 0 ? null : (Element) l.item(0);
    }
}
