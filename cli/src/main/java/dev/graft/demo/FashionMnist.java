package dev.graft.demo;

import dev.graft.loaders.images.DatasetException;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.GZIPInputStream;

/**
 * Reads Fashion-MNIST's IDX files (as Debian's {@code dataset-fashion-mnist} installs them under
 * {@code /usr/share/datasets/fashion-mnist}): 28x28 8-bit grayscale images and their labels. Zalando SE, MIT.
 */
public record FashionMnist(byte[][] images, int[] labels) {

    public static final Path DEBIAN_DIR = Path.of("/usr/share/datasets/fashion-mnist");
    public static final List<String> CLASSES = List.of("tshirt_top", "trouser", "pullover", "dress", "coat",
            "sandal", "shirt", "sneaker", "bag", "ankle_boot");
    public static final int SIDE = 28;

    /** {@code split}: "train" (60,000) or "t10k" (10,000). */
    public static FashionMnist read(Path dir, String split) {
        Path imgs = dir.resolve(split + "-images-idx3-ubyte.gz");
        Path labs = dir.resolve(split + "-labels-idx1-ubyte.gz");
        if (!Files.isRegularFile(imgs) || !Files.isRegularFile(labs)) {
            throw new DatasetException("Fashion-MNIST not found in " + dir + " (expected " + imgs.getFileName() + "); install it with "
                    + "'apt-get install dataset-fashion-mnist' or pass the folder holding the IDX files");
        }
        try (DataInputStream in = open(imgs); DataInputStream lin = open(labs)) {
            int magic = in.readInt();
            int n = in.readInt();
            int rows = in.readInt();
            int cols = in.readInt();
            if (magic != 2051 || rows != SIDE || cols != SIDE || n < 0) {
                throw new DatasetException(imgs + ": not an IDX3 file of 28x28 images (magic " + magic + ")");
            }
            if (lin.readInt() != 2049 || lin.readInt() != n) {
                throw new DatasetException(labs + ": not an IDX1 label file matching " + n + " images");
            }
            byte[][] images = new byte[n][SIDE * SIDE];
            int[] labels = new int[n];
            for (int i = 0; i < n; i++) {
                in.readFully(images[i]);
                labels[i] = lin.readUnsignedByte();
            }
            return new FashionMnist(images, labels);
        } catch (IOException e) {
            throw new DatasetException("cannot read Fashion-MNIST from " + dir + ": " + e.getMessage(), e);
        }
    }

    private static DataInputStream open(Path p) throws IOException {
        InputStream raw = Files.newInputStream(p);
        return new DataInputStream(new java.io.BufferedInputStream(new GZIPInputStream(raw, 1 << 16)));
    }
}
