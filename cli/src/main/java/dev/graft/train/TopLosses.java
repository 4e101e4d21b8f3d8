package dev.graft.train;

import dev.graft.loaders.images.DatasetException;
import dev.graft.loaders.images.FloatImage;
import dev.graft.loaders.images.ImageDecoder;
import dev.graft.loaders.images.Preprocessing;
import dev.graft.loaders.images.Transform;

import javax.imageio.ImageIO;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.stream.IntStream;

/**
 * The images a model gets most wrong: the {@code k} highest per-image losses, each written as a thumbnail
 * ({@code top-losses/NN.png}, NN the rank) passed through an {@link Overlay}, and all of them as one captioned grid
 * ({@code plots/top-losses.png}). The per-image loss is the cross-entropy of the true class, {@code -ln P(true)}.
 */
public record TopLosses(List<Entry> entries) {
    /** Thumbnail side in pixels: the model's view (resize, centre crop) scaled to this square. */
    public static final int THUMB = 224;
    public static final String FOLDER = "top-losses";

    /** One image of the gallery; {@code thumbnail} is relative to the output folder. */
    public record Entry(int rank, Path file, int trueClass, int predictedClass, double[] probabilities, double loss, String thumbnail) {
        public double predictedProbability() {
            return probabilities[predictedClass];
        }
    }

    /**
     * {@code -ln P(true class)}; a probability that underflowed to 0 counts as the smallest positive double, so the
     * loss stays finite (at most about 744.4).
     */
    public static double loss(double[] probabilities, int label) {
        return -Math.log(Math.max(probabilities[label], Double.MIN_VALUE));
    }

    /** Row indices of the {@code k} highest losses, highest first; equal losses keep row order. */
    public static int[] highest(double[] losses, int k) {
        return IntStream.range(0, losses.length).boxed()
                .sorted(Comparator.comparingDouble((Integer i) -> -losses[i]).thenComparingInt(i -> i))
                .limit(Math.max(0, k)).mapToInt(Integer::intValue).toArray();
    }

    /**
     * Picks the top {@code k} of {@code p} (rows aligned with {@code files} and {@code predicted}) and writes their
     * thumbnails and the grid under {@code outDir}, atomically, replacing an earlier gallery there. k = 0 writes
     * nothing and returns an empty gallery.
     */
    public static TopLosses write(Path outDir, Predictions p, List<Path> files, int[] predicted, List<String> classes, Preprocessing pre,
                                  ImageDecoder.Options decoding, Overlay overlay, int k) throws IOException {
        double[] losses = new double[p.labels().length];
        for (int i = 0; i < losses.length; i++) {
            losses[i] = loss(p.probabilities()[i], p.labels()[i]);
        }
        int[] top = highest(losses, k);
        Path folder = outDir.resolve(FOLDER);
        clearOldThumbnails(folder);
        List<Entry> entries = new ArrayList<>();
        List<BufferedImage> thumbs = new ArrayList<>();
        for (int r = 0; r < top.length; r++) {
            int i = top[r];
            String name = String.format(Locale.ROOT, "%02d.png", r + 1);
            BufferedImage thumb = overlay.apply(files.get(i), thumbnail(files.get(i), pre, decoding), predicted[i]);
            Plots.savePng(png(thumb), folder.resolve(name));
            thumbs.add(thumb);
            entries.add(new Entry(r + 1, files.get(i), p.labels()[i], predicted[i], p.probabilities()[i].clone(), losses[i], FOLDER + "/" + name));
        }
        if (!entries.isEmpty()) {
            Plots.savePng(png(grid(entries, thumbs, classes)), outDir.resolve("plots").resolve("top-losses.png"));
        }
        return new TopLosses(List.copyOf(entries));
    }

    /** The region the model saw (resize to the model's resize/crop ratio, centre crop), THUMB x THUMB, RGB. */
    static BufferedImage thumbnail(Path file, Preprocessing pre, ImageDecoder.Options decoding) {
        BufferedImage out = new BufferedImage(THUMB, THUMB, BufferedImage.TYPE_INT_RGB);
        int resize = (int) Math.round(THUMB * (double) pre.resizeSize() / pre.imageSize());
        Transform view = Transform.compose(List.of(Transform.resize(resize), Transform.centerCrop(THUMB)));
        FloatImage img;
        try {
            img = view.apply(ImageDecoder.read(file, view, decoding, w -> { }), null);
        } catch (DatasetException e) {
            // Decoded once for the prediction; if it fails now (changed on disk), the gallery says so instead of stopping.
            Graphics2D g = out.createGraphics();
            g.setColor(Color.LIGHT_GRAY);
            g.fillRect(0, 0, THUMB, THUMB);
            g.setColor(Color.BLACK);
            g.drawString("cannot show this image", 20, THUMB / 2);
            g.dispose();
            return out;
        }
        int plane = img.height() * img.width();
        float[] d = img.data();
        for (int y = 0; y < THUMB; y++) {
            for (int x = 0; x < THUMB; x++) {
                int i = y * img.width() + x;
                out.setRGB(x, y, (byte8(d[i]) << 16) | (byte8(d[plane + i]) << 8) | byte8(d[2 * plane + i]));
            }
        }
        return out;
    }

    private static int byte8(float v) {
        return Math.max(0, Math.min(255, Math.round(v * 255)));
    }

    private static BufferedImage grid(List<Entry> entries, List<BufferedImage> thumbs, List<String> classes) {
        int cols = Math.min(4, entries.size()), rows = (entries.size() + cols - 1) / cols;
        int pad = 14, caption = 66, tileW = THUMB + 2 * pad, tileH = THUMB + caption + pad, head = 44;
        BufferedImage img = new BufferedImage(cols * tileW, head + rows * tileH, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, img.getWidth(), img.getHeight());
            g.setColor(Color.BLACK);
            g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 18));
            g.drawString("Top " + entries.size() + " losses (true / predicted, P(predicted), loss)", pad, 28);
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 14));
            for (int r = 0; r < entries.size(); r++) {
                Entry e = entries.get(r);
                int x = (r % cols) * tileW + pad, y = head + (r / cols) * tileH;
                g.drawImage(thumbs.get(r), x, y, THUMB, THUMB, null);
                int line = g.getFontMetrics().getHeight();
                g.setColor(Color.BLACK);
                g.drawString("#" + e.rank() + " true: " + Plots.shorten(classes.get(e.trueClass()), 20), x, y + THUMB + line);
                g.setColor(e.trueClass() == e.predictedClass() ? Color.BLACK : new Color(180, 0, 0));
                g.drawString("predicted: " + Plots.shorten(classes.get(e.predictedClass()), 18), x, y + THUMB + 2 * line);
                g.setColor(Color.BLACK);
                g.drawString(String.format(Locale.ROOT, "P %.3f, loss %.3f", e.predictedProbability(), e.loss()), x, y + THUMB + 3 * line);
            }
        } finally {
            g.dispose();
        }
        return img;
    }

    static byte[] png(BufferedImage img) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(img, "png", out);
        return out.toByteArray();
    }

    /** Removes NN.png files an earlier, larger gallery left (only names this class writes). */
    private static void clearOldThumbnails(Path folder) throws IOException {
        if (!Files.isDirectory(folder)) {
            return;
        }
        try (var files = Files.list(folder)) {
            for (Path f : files.toList()) {
                if (f.getFileName().toString().matches("\\d{2,}\\.png") && Files.isRegularFile(f)) {
                    Files.delete(f);
                }
            }
        }
    }
}
