package dev.graft.loaders.images;

import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.metadata.IIOMetadata;
import javax.imageio.metadata.IIOMetadataNode;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.ImageOutputStream;
import java.awt.image.BufferedImage;
import java.awt.image.DataBuffer;
import java.awt.image.Raster;
import java.awt.image.RenderedImage;
import java.awt.image.WritableRaster;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import java.util.zip.CRC32;
import java.util.zip.Deflater;

/**
 * Image files made in the test: ImageIO writes the valid ones; a PNG or JPEG that declares an enormous size is a
 * small valid file with its header edited (no large image is ever allocated); CMYK and YCCK JPEGs are written from a
 * four-band raster with an Adobe APP14 marker added to the writer's metadata.
 */
final class ImageBytes {
    private ImageBytes() {
    }

    static byte[] write(RenderedImage img, String format) {
        ByteArrayOutputStream b = new ByteArrayOutputStream();
        try {
            if (!ImageIO.write(img, format, b)) {
                throw new IllegalStateException("no ImageIO writer for " + format);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return b.toByteArray();
    }

    /** Smooth colour gradients plus seeded noise: compresses poorly enough that truncation cuts into the pixel data. */
    static BufferedImage noisyRgb(int w, int h, long seed) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_3BYTE_BGR);
        Random r = new Random(seed);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int red = clamp(255 * x / Math.max(1, w - 1) + r.nextInt(41) - 20);
                int green = clamp(255 * y / Math.max(1, h - 1) + r.nextInt(41) - 20);
                int blue = clamp(128 + r.nextInt(41) - 20);
                img.setRGB(x, y, red << 16 | green << 8 | blue);
            }
        }
        return img;
    }

    static int clamp(int v) {
        return Math.max(0, Math.min(255, v));
    }

    /**
     * A valid 8-bit grayscale PNG whose IHDR declares {@code w x h} (any int, negative and zero included) while its
     * IDAT holds one row: as cheap to make as to refuse.
     */
    static byte[] pngDeclaring(int w, int h) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'});
        chunk(out, "IHDR", ByteBuffer.allocate(13).putInt(w).putInt(h).put((byte) 8).put((byte) 0).put((byte) 0).put((byte) 0)
                .put((byte) 0).array());
        Deflater d = new Deflater();
        d.setInput(new byte[1 + 16]); // filter byte and a few zero samples
        d.finish();
        byte[] z = new byte[64];
        int n = d.deflate(z);
        d.end();
        chunk(out, "IDAT", java.util.Arrays.copyOf(z, n));
        chunk(out, "IEND", new byte[0]);
        return out.toByteArray();
    }

    private static void chunk(ByteArrayOutputStream out, String type, byte[] data) {
        byte[] t = type.getBytes(StandardCharsets.US_ASCII);
        out.writeBytes(ByteBuffer.allocate(4).putInt(data.length).array());
        out.writeBytes(t);
        out.writeBytes(data);
        CRC32 crc = new CRC32();
        crc.update(t);
        crc.update(data);
        out.writeBytes(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
    }

    /** A small valid JPEG with its frame header (SOF0) edited to declare {@code w x h} (JPEG holds 16 bits each). */
    static byte[] jpegDeclaring(int w, int h) {
        byte[] b = write(noisyRgb(16, 16, 1), "jpeg");
        int sof = sofOffset(b);
        b[sof + 5] = (byte) (h >> 8);
        b[sof + 6] = (byte) h;
        b[sof + 7] = (byte) (w >> 8);
        b[sof + 8] = (byte) w;
        return b;
    }

    /** Offset of the first SOFn marker (FF C0..CF but C4, C8, CC); its length, precision, height and width follow. */
    static int sofOffset(byte[] b) {
        for (int i = 2; i + 9 < b.length; ) {
            if ((b[i] & 0xff) != 0xff) {
                throw new IllegalStateException("not at a marker at " + i);
            }
            int m = b[i + 1] & 0xff;
            if (m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc) {
                return i;
            }
            i += 2 + ((b[i + 2] & 0xff) << 8 | (b[i + 3] & 0xff));
        }
        throw new IllegalStateException("no SOF marker");
    }

    /**
     * A four-component JPEG, every pixel {@code stored} as written to the file (Photoshop's inverted convention is
     * the caller's choice), with an Adobe APP14 marker of {@code transform} (0 CMYK, 2 YCCK: libjpeg converts on
     * writing) or none when null.
     */
    static byte[] fourComponentJpeg(int w, int h, int[] stored, Integer transform) {
        WritableRaster r = Raster.createInterleavedRaster(DataBuffer.TYPE_BYTE, w, h, 4, null);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                r.setPixel(x, y, stored);
            }
        }
        try {
            ImageWriter writer = ImageIO.getImageWritersByFormatName("jpeg").next();
            ImageWriteParam p = writer.getDefaultWriteParam();
            p.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
            p.setCompressionQuality(1f);
            IIOMetadata md = null;
            if (transform != null) {
                // The writer's default metadata for a raster is refused (InternalError); take a plain file's and add APP14.
                md = metadataOf(fourComponentJpeg(w, h, stored, null));
                String f = "javax_imageio_jpeg_image_1.0";
                IIOMetadataNode root = (IIOMetadataNode) md.getAsTree(f);
                IIOMetadataNode seq = (IIOMetadataNode) root.getElementsByTagName("markerSequence").item(0);
                IIOMetadataNode adobe = new IIOMetadataNode("app14Adobe");
                adobe.setAttribute("version", "100");
                adobe.setAttribute("flags0", "0");
                adobe.setAttribute("flags1", "0");
                adobe.setAttribute("transform", transform.toString());
                seq.insertBefore(adobe, seq.getFirstChild());
                md.setFromTree(f, root);
            }
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            try (ImageOutputStream out = ImageIO.createImageOutputStream(b)) {
                writer.setOutput(out);
                writer.write(null, new IIOImage(r, null, md), p);
            }
            writer.dispose();
            return b.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static IIOMetadata metadataOf(byte[] jpeg) throws IOException {
        try (ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(jpeg))) {
            ImageReader reader = ImageIO.getImageReadersByFormatName("jpeg").next();
            reader.setInput(in);
            return reader.getImageMetadata(0);
        }
    }
}
