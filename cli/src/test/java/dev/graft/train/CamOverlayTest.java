package dev.graft.train;

import dev.graft.engine.Device;
import dev.graft.engine.Scope;
import dev.graft.explain.ColorMap;
import dev.graft.loaders.images.FloatImage;
import dev.graft.loaders.images.ImageDecoder;
import dev.graft.loaders.images.ImagePipeline;
import dev.graft.loaders.images.Preprocessing;
import dev.graft.models.BlockType;
import dev.graft.models.GradCam;
import dev.graft.models.ResNet;
import dev.graft.models.ResNetConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The gallery's heat map: the predicted class's Grad-CAM map, resampled to the thumbnail and blended in jet colours
 * with weight ALPHA, checked pixel by pixel against the map GradCam computes for the same preprocessed image; a
 * one-cell map (layer4 of a 16-pixel input) leaves the thumbnail as it is.
 */
class CamOverlayTest {
    private static final ResNetConfig TINY = ResNetConfig.of(BlockType.BASIC, 1, 1, 1, 1).withWidths(4, 4, 8, 8, 16).withNumClasses(2);

    @TempDir
    Path dir;

    private Path image(int size, long seed) throws IOException {
        BufferedImage img = new BufferedImage(size, size, BufferedImage.TYPE_INT_RGB);
        SplittableRandom r = new SplittableRandom(seed);
        for (int y = 0; y < size; y++) {
            for (int x = 0; x < size; x++) {
                img.setRGB(x, y, r.nextInt(1 << 24));
            }
        }
        Path f = dir.resolve("img" + size + "-" + seed + ".png");
        ImageIO.write(img, "png", f.toFile());
        return f;
    }

    @Test
    void blendsThePredictedClassMapOverTheThumbnail() throws IOException {
        Preprocessing pre = Preprocessing.imagenet(64);
        ImageDecoder.Options decoding = ImageDecoder.Options.defaults();
        try (ResNet net = ResNet.builder(TINY).device(Device.REFERENCE).seed(7).build(); Scope s = Scope.open()) {
            net.eval();
            GradCam cam = new GradCam(net, GradCam.Method.GRAD_CAM);
            ImagePipeline pipeline = new ImagePipeline(pre.evaluation(), decoding, w -> { });
            int checked = 0;
            for (long seed = 1; seed <= 6 && checked < 2; seed++) {
                Path file = image(80, seed);
                FloatImage img = pipeline.load(file, null);
                for (int cls = 0; cls < 2; cls++) {
                    GradCam.Explanation e = cam.explain(CamOverlay.batch(net, List.of(img)), new int[] {cls}).get(0);
                    BufferedImage thumb = TopLosses.thumbnail(file, pre, decoding);
                    BufferedImage plain = TopLosses.thumbnail(file, pre, decoding);
                    BufferedImage out = new CamOverlay(net, GradCam.Method.GRAD_CAM, pre, decoding, CamOverlay.ALPHA).apply(file, thumb, cls);
                    if (!CamOverlay.localises(e)) {
                        assertSame(thumb, out, "an all-zero map leaves the thumbnail");
                        continue;
                    }
                    float[][] map = GradCam.upsample(e.map(), plain.getHeight(), plain.getWidth());
                    for (int y = 0; y < plain.getHeight(); y++) {
                        for (int x = 0; x < plain.getWidth(); x++) {
                            int want = CamOverlay.blend(plain.getRGB(x, y), ColorMap.jetRgb(map[y][x]), CamOverlay.ALPHA);
                            assertEquals(want & 0xffffff, out.getRGB(x, y) & 0xffffff, "pixel " + x + "," + y);
                        }
                    }
                    checked++;
                }
            }
            assertTrue(checked >= 2, "random networks gave localising maps on only " + checked + " image/class pairs");
        }
    }

    @Test
    void blendIsTheWeightedMeanPerChannel() {
        // (1 - 0.45) x 200 + 0.45 x 0 = 110; 0.55 x 0 + 0.45 x 255 = 114.75 -> 115; 0.55 x 100 + 0.45 x 100 = 100.
        assertEquals((110 << 16) | (115 << 8) | 100, CamOverlay.blend((200 << 16) | 100, (255 << 8) | 100, 0.45));
    }

    @Test
    void aOneCellMapLeavesTheThumbnailAsItIs() throws IOException {
        Preprocessing pre = Preprocessing.imagenet(16); // layer4 of a 16-pixel input is 1x1
        ImageDecoder.Options decoding = ImageDecoder.Options.defaults();
        try (ResNet net = ResNet.builder(TINY).device(Device.REFERENCE).seed(7).build()) {
            Path file = image(20, 3);
            BufferedImage thumb = TopLosses.thumbnail(file, pre, decoding);
            for (int cls = 0; cls < 2; cls++) {
                assertSame(thumb, new CamOverlay(net, GradCam.Method.GRAD_CAM, pre, decoding, CamOverlay.ALPHA).apply(file, thumb, cls));
            }
        }
    }
}
