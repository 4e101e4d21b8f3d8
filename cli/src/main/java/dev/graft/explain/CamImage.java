package dev.graft.explain;

import dev.graft.loaders.images.FloatImage;
import dev.graft.loaders.internal.AtomicFiles;
import dev.graft.models.PrintableText;

import javax.imageio.ImageIO;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * A class activation map drawn for a person: the heat map in the {@link ColorMap#jet} colours blended over the
 * image the network saw (the preprocessed input with its normalisation undone: resized and cropped, not the
 * original file), a colour bar from 0 to 1 with labels beside it, and caption lines below. Images smaller than
 * {@link #MIN_DISPLAY} pixels on their longer side are enlarged by a whole factor so the picture stays readable.
 */
public final class CamImage {
    /** Weight of the heat map in the blend (the image gets 1 - alpha); pytorch-grad-cam's pictures use 0.5. */
    public static final double DEFAULT_ALPHA = 0.45;
    /** Pictures are enlarged until their longer side reaches this many pixels. */
    static final int MIN_DISPLAY = 320;
    private static final int MARGIN = 10;
    private static final int BAR_GAP = 14;
    private static final int BAR_WIDTH = 16;
    private static final Font FONT = new Font(Font.SANS_SERIF, Font.PLAIN, 13);

    private CamImage() {
    }

    /**
     * The picture for {@code image} (CHW, 3 channels, normalised with {@code mean} and {@code std} as the network
     * got it; 1 channel is drawn gray) and {@code map} [H][W] in [0, 1] at the image's size; {@code caption} lines
     * are drawn below (made printable first). {@code alpha} in [0, 1] weighs the heat map.
     */
    public static BufferedImage render(FloatImage image, float[] mean, float[] std, float[][] map, List<String> caption,
                                       double alpha) {
        int h = image.height();
        int w = image.width();
        if (map.length != h || map[0].length != w) {
            throw new IllegalArgumentException("map " + map.length + "x" + map[0].length + " for an image " + h + "x" + w);
        }
        if (!(alpha >= 0 && alpha <= 1)) {
            throw new IllegalArgumentException("alpha " + alpha + " is outside [0, 1]");
        }
        BufferedImage blended = blend(image, mean, std, map, alpha);
        int scale = Math.max(1, (int) Math.ceil((double) MIN_DISPLAY / Math.max(h, w)));
        int dw = w * scale;
        int dh = h * scale;

        BufferedImage probe = new BufferedImage(1, 1, BufferedImage.TYPE_INT_RGB);
        Graphics2D pg = probe.createGraphics();
        FontMetrics fm = pg.getFontMetrics(FONT);
        pg.dispose();
        int lineHeight = fm.getHeight();
        int labelWidth = fm.stringWidth("0.75");
        int textWidth = 0;
        List<String> lines = caption.stream().map(PrintableText::escape).toList();
        for (String line : lines) {
            textWidth = Math.max(textWidth, fm.stringWidth(line));
        }
        int barX = MARGIN + dw + BAR_GAP;
        int width = Math.max(barX + BAR_WIDTH + 6 + labelWidth + MARGIN, textWidth + 2 * MARGIN);
        int top = MARGIN + lineHeight / 2; // room for the "1" label centred on the bar's top edge
        int height = top + dh + MARGIN + lines.size() * lineHeight + MARGIN;

        BufferedImage out = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = out.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, width, height);
            g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_BILINEAR);
            g.drawImage(blended, MARGIN, top, dw, dh, null);
            drawColourBar(g, fm, barX, top, dh);
            g.setColor(Color.BLACK);
            g.setFont(FONT);
            int y = top + dh + MARGIN + fm.getAscent();
            for (String line : lines) {
                g.drawString(line, MARGIN, y);
                y += lineHeight;
            }
        } finally {
            g.dispose();
        }
        return out;
    }

    /** out = (1 - alpha) * image + alpha * jet(map), per pixel, at the image's own size. */
    static BufferedImage blend(FloatImage image, float[] mean, float[] std, float[][] map, double alpha) {
        int h = image.height();
        int w = image.width();
        BufferedImage out = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                float[] heat = ColorMap.jet(map[y][x]);
                int rgb = 0;
                for (int c = 0; c < 3; c++) {
                    int src = image.channels() == 3 ? c : 0;
                    double v = image.get(src, y, x) * std[src] + mean[src];
                    rgb = (rgb << 8) | ColorMap.byte8((1 - alpha) * v + alpha * heat[c]);
                }
                out.setRGB(x, y, rgb);
            }
        }
        return out;
    }

    /** A vertical jet bar, 1 at the top, with labels at 0, 0.25, 0.5, 0.75 and 1. */
    private static void drawColourBar(Graphics2D g, FontMetrics fm, int x, int top, int height) {
        for (int y = 0; y < height; y++) {
            g.setColor(new Color(ColorMap.jetRgb(1 - (y + 0.5) / height)));
            g.drawLine(x, top + y, x + BAR_WIDTH - 1, top + y);
        }
        g.setColor(Color.BLACK);
        g.setStroke(new BasicStroke(1));
        g.drawRect(x, top, BAR_WIDTH - 1, height - 1);
        g.setFont(FONT);
        for (int i = 0; i <= 4; i++) {
            double v = i / 4.0;
            int y = top + (int) Math.round((1 - v) * (height - 1));
            g.drawLine(x + BAR_WIDTH, y, x + BAR_WIDTH + 3, y);
            String label = i == 0 ? "0" : i == 4 ? "1" : String.format(Locale.ROOT, "%.2f", v).replaceAll("0$", "");
            g.drawString(label, x + BAR_WIDTH + 6, y + fm.getAscent() / 2 - 1);
        }
    }

    /** Encodes {@code picture} as PNG and writes it atomically (temporary file beside {@code file}, then a rename). */
    public static void writePng(BufferedImage picture, Path file) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try {
            if (!ImageIO.write(picture, "png", bytes)) {
                throw new IllegalStateException("no PNG writer in this Java runtime");
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot encode " + file + " as PNG: " + e.getMessage(), e);
        }
        ByteBuffer buffer = ByteBuffer.wrap(bytes.toByteArray());
        AtomicFiles.write(file, out -> {
            while (buffer.hasRemaining()) {
                out.write(buffer);
            }
        });
    }
}
