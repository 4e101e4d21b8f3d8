package dev.graft.reuse;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The Gram matrix K = X X^T (float64) of examples that arrive a batch at a time, each flattened to d floats
 * (C*H*W of an activation). Rows go to a temporary file as they come, so a wide layer costs disk, not heap; {@link
 * #gram()} then reads them back in row blocks of at most {@link #BLOCK_BYTES} and forms K block by block: memory
 * O(n^2 + block). Products accumulate in double. Close to delete the file.
 */
public final class GramMatrix implements AutoCloseable {
    static final long BLOCK_BYTES = 32L << 20;

    private final Path file;
    private final FileChannel channel;
    private int rows;
    private final long blockBytes;
    private int width = -1;

    public GramMatrix() {
        this(BLOCK_BYTES);
    }

    /** With row blocks of at most {@code blockBytes} (at least one row), for tests of the blocking. */
    GramMatrix(long blockBytes) {
        this.blockBytes = blockBytes;
        try {
            file = Files.createTempFile("graft-reuse-", ".f32");
            channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot make a temporary file for activations: " + e.getMessage(), e);
        }
    }

    /** Appends example {@code row} of {@code values} (rows of {@code d} floats each). */
    public void add(float[] values, int row, int d) {
        if (width < 0) {
            width = d;
        } else if (d != width) {
            throw new IllegalArgumentException("rows of " + d + " values after rows of " + width);
        }
        ByteBuffer b = ByteBuffer.allocate(d * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        b.asFloatBuffer().put(values, row * d, d);
        try {
            long at = (long) rows * d * Float.BYTES;
            while (b.hasRemaining()) {
                at += channel.write(b, at);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write activations to " + file + ": " + e.getMessage(), e);
        }
        rows++;
    }

    public int rows() {
        return rows;
    }

    public double[][] gram() {
        int n = rows;
        double[][] k = new double[n][n];
        if (n == 0) {
            return k;
        }
        int block = (int) Math.max(1, Math.min(n, blockBytes / ((long) width * Float.BYTES)));
        for (int i0 = 0; i0 < n; i0 += block) {
            float[][] a = read(i0, Math.min(n, i0 + block));
            for (int j0 = 0; j0 <= i0; j0 += block) {
                float[][] b = j0 == i0 ? a : read(j0, Math.min(n, j0 + block));
                for (int i = 0; i < a.length; i++) {
                    for (int j = 0; j < b.length && j0 + j <= i0 + i; j++) {
                        double s = 0;
                        float[] x = a[i], y = b[j];
                        for (int t = 0; t < width; t++) {
                            s += (double) x[t] * y[t];
                        }
                        k[i0 + i][j0 + j] = s;
                        k[j0 + j][i0 + i] = s;
                    }
                }
            }
        }
        return k;
    }

    private float[][] read(int from, int to) {
        float[][] out = new float[to - from][width];
        ByteBuffer b = ByteBuffer.allocate(width * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        try {
            for (int r = from; r < to; r++) {
                b.clear();
                long at = (long) r * width * Float.BYTES;
                while (b.hasRemaining()) {
                    int got = channel.read(b, at);
                    if (got < 0) {
                        throw new IOException("unexpected end of file");
                    }
                    at += got;
                }
                b.flip();
                b.asFloatBuffer().get(out[r - from]);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read activations back from " + file + ": " + e.getMessage(), e);
        }
        return out;
    }

    @Override
    public void close() {
        try {
            channel.close();
            Files.deleteIfExists(file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete " + file + ": " + e.getMessage(), e);
        }
    }
}
