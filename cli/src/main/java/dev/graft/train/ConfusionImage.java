package dev.graft.train;

import javax.imageio.ImageIO;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.AffineTransform;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Locale;

/**
 * The confusion-matrix plot, drawn with Java2D on an 800 x 600 canvas: true class down the left ("true"), predicted
 * class along the bottom ("predicted"), each cell "count" over "row %" on a white-to-blue scale of the row share.
 */
final class ConfusionImage {
    private static final int W = Plots.WIDTH, H = Plots.HEIGHT;
    private static final Color DARK = new Color(8, 48, 107), LIGHT = new Color(247, 251, 255);

    private ConfusionImage() {
    }

    static byte[] draw(Metrics m, String title, Font titleFont, Font axisFont, Font tickFont) throws IOException {
        int c = m.classes().size();
        double[][] pct = m.confusionRowPercent();
        BufferedImage img = new BufferedImage(W, H, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, W, H);
            g.setColor(Color.BLACK);
            g.setFont(titleFont);
            centered(g, title, W / 2, 34);
            int left = 230, top = 70, bottom = 110, right = 40;
            int side = Math.min(W - left - right, H - top - bottom);
            int cell = side / c;
            side = cell * c;
            int x0 = left + (W - left - right - side) / 2, y0 = top;
            Font cellFont = tickFont.deriveFont((float) Math.max(10, Math.min(20, cell / 5)));
            Font small = cellFont.deriveFont(cellFont.getSize2D() * 0.85f);
            for (int t = 0; t < c; t++) {
                for (int p = 0; p < c; p++) {
                    double share = Double.isNaN(pct[t][p]) ? 0 : pct[t][p] / 100;
                    g.setColor(blend(share));
                    int x = x0 + p * cell, y = y0 + t * cell;
                    g.fillRect(x, y, cell, cell);
                    g.setColor(share > 0.5 ? Color.WHITE : Color.BLACK);
                    g.setFont(cellFont);
                    centered(g, Integer.toString(m.confusion()[t][p]), x + cell / 2, y + cell / 2 - 2);
                    g.setFont(small);
                    centered(g, Double.isNaN(pct[t][p]) ? "n/a" : String.format(Locale.ROOT, "%.1f%%", pct[t][p]), x + cell / 2,
                            y + cell / 2 + g.getFontMetrics().getHeight() - 2);
                }
            }
            g.setColor(Color.GRAY);
            g.setStroke(new BasicStroke(1));
            g.drawRect(x0, y0, side, side);
            g.setColor(Color.BLACK);
            g.setFont(tickFont);
            FontMetrics fm = g.getFontMetrics();
            int labelChars = Math.max(6, Math.min(24, cell / 8));
            for (int k = 0; k < c; k++) {
                String name = Plots.shorten(m.classes().get(k), 18);
                g.drawString(name, x0 - 10 - fm.stringWidth(name), y0 + k * cell + cell / 2 + fm.getAscent() / 2 - 2);
                centered(g, Plots.shorten(m.classes().get(k), labelChars), x0 + k * cell + cell / 2, y0 + side + fm.getAscent() + 6);
            }
            g.setFont(axisFont);
            centered(g, "predicted", x0 + side / 2, y0 + side + fm.getHeight() + 30);
            AffineTransform saved = g.getTransform();
            g.rotate(-Math.PI / 2);
            centered(g, "true", -(y0 + side / 2), 40);
            g.setTransform(saved);
        } finally {
            g.dispose();
        }
        ByteArrayOutputStream png = new ByteArrayOutputStream();
        ImageIO.write(img, "png", png);
        return png.toByteArray();
    }

    private static Color blend(double share) {
        return new Color(mix(LIGHT.getRed(), DARK.getRed(), share), mix(LIGHT.getGreen(), DARK.getGreen(), share),
                mix(LIGHT.getBlue(), DARK.getBlue(), share));
    }

    private static int mix(int a, int b, double t) {
        return (int) Math.round(a + (b - a) * Math.max(0, Math.min(1, t)));
    }

    /** Draws {@code s} centred horizontally on {@code cx}, baseline at {@code baseline}. */
    private static void centered(Graphics2D g, String s, int cx, int baseline) {
        g.drawString(s, cx - g.getFontMetrics().stringWidth(s) / 2, baseline);
    }
}
