package dev.graft.loaders.images;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Decoding and transforms against PIL/torchvision outputs (fixtures from make_image_fixtures.py). */
class ImagePipelineTest {
    /**
     * PIL resizes 8-bit images in 8-bit fixed point and rounds the result to 1/255 steps; we resample in float.
     * One quantisation step plus a little for PIL's fixed-point weights.
     */
    private static final float PIL_TOLERANCE = 1.5f / 255f;

    private static Path resource(String name) throws IOException {
        Path dir = Files.createTempDirectory("img");
        Path p = dir.resolve(name);
        try (InputStream in = ImagePipelineTest.class.getResourceAsStream("/images/" + name)) {
            Files.copy(in, p);
        }
        return p;
    }

    private static float[] floats(String name) throws IOException {
        try (InputStream in = ImagePipelineTest.class.getResourceAsStream("/images/" + name)) {
            ByteBuffer b = ByteBuffer.wrap(in.readAllBytes()).order(ByteOrder.LITTLE_ENDIAN);
            float[] f = new float[b.remaining() / 4];
            b.asFloatBuffer().get(f);
            return f;
        }
    }

    private static void assertClose(float[] expected, float[] actual, float tol) {
        assertEquals(expected.length, actual.length, "length");
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], tol, "element " + i);
        }
    }

    @Test
    void resizeAndCenterCropMatchTorchvision() throws IOException {
        FloatImage img = ImageDecoder.read(resource("rgb_37x29.png"));
        assertEquals(29, img.height());
        assertEquals(37, img.width());
        FloatImage out = Transform.compose(List.of(Transform.resize(20), Transform.centerCrop(16))).apply(img, null);
        assertClose(floats("rgb_resize20_crop16.f32"), out.data(), PIL_TOLERANCE);
        assertClose(floats("rgb_resize13x17.f32"), Transform.resize(13, 17).apply(img, null).data(), PIL_TOLERANCE);
        FloatImage up = Transform.resize(40).apply(img, null);
        assertEquals(40, up.height());
        assertEquals(51, up.width());
        assertClose(floats("rgb_upsize40.f32"), up.data(), PIL_TOLERANCE);
    }

    @Test
    void grayscaleIsReplicatedWithFullPrecision() throws IOException {
        FloatImage g16 = ImageDecoder.read(resource("gray16_23x31.png"));
        float[] expected = floats("gray16.f32");
        assertEquals(3, g16.channels());
        int plane = g16.height() * g16.width();
        for (int c = 0; c < 3; c++) {
            for (int i = 0; i < plane; i++) {
                // 16-bit values keep their precision (no rounding to 8 bits): exact up to float rounding.
                assertEquals(expected[i], g16.data()[c * plane + i], 1e-6f);
            }
        }
        FloatImage g8 = ImageDecoder.read(resource("gray8_23x31.png"));
        assertEquals(g8.data()[5], g8.data()[plane + 5]);
        assertEquals(0, g8.data()[7] * 255 % 1, 1e-4, "8-bit values are multiples of 1/255");
    }

    @Test
    void corruptAndMissingFilesAreTypedErrors(@TempDir Path dir) throws IOException {
        Path bad = dir.resolve("bad.png");
        Files.write(bad, new byte[] {(byte) 0x89, 'P', 'N', 'G', 1, 2, 3});
        DatasetException e = assertThrows(DatasetException.class, () -> ImageDecoder.read(bad));
        assertTrue(e.getMessage().contains("bad.png"), e.getMessage());
        assertThrows(DatasetException.class, () -> ImageDecoder.read(dir.resolve("missing.png")));
    }

    @Test
    void normalizeAndFlip() {
        FloatImage img = new FloatImage(3, 1, 2, new float[] {0, 1, 0.5f, 0.5f, 1, 0});
        FloatImage n = Transform.normalize(new float[] {0.5f, 0.5f, 0.5f}, new float[] {0.5f, 0.25f, 1}).apply(img, null);
        assertArrayEquals(new float[] {-1, 1, 0, 0, 0.5f, -0.5f}, n.data());
        FloatImage f = Transform.horizontalFlip(1).apply(img, new SplittableRandom(1));
        assertArrayEquals(new float[] {1, 0, 0.5f, 0.5f, 0, 1}, f.data());
    }

    @Test
    void randomResizedCropAndRotationKeepSizeAndAreSeeded() {
        FloatImage img = new FloatImage(3, 30, 40, new float[3 * 30 * 40]);
        for (int i = 0; i < img.data().length; i++) {
            img.data()[i] = (i % 97) / 97f;
        }
        Transform t = Transform.compose(List.of(Transform.randomResizedCrop(16, 0.5), Transform.rotation(10)));
        FloatImage a = t.apply(img, new SplittableRandom(3));
        FloatImage b = t.apply(img, new SplittableRandom(3));
        assertEquals(16, a.height());
        assertEquals(16, a.width());
        assertArrayEquals(a.data(), b.data());
        assertTrue(t.isRandom());
    }

    @Test
    void centerCropPadsSmallImages() {
        FloatImage img = new FloatImage(1, 2, 2, new float[] {1, 2, 3, 4});
        FloatImage out = Transform.centerCrop(4).apply(img, null);
        assertArrayEquals(new float[] {0, 0, 0, 0, 0, 1, 2, 0, 0, 3, 4, 0, 0, 0, 0, 0}, out.data());
    }
}
