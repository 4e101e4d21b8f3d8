package dev.graft.models;

import dev.graft.engine.DType;
import dev.graft.engine.Device;
import dev.graft.engine.Grad;
import dev.graft.engine.Scope;
import dev.graft.engine.Tensor;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The Swin family on the registry: index and mask facts, units, Grad-CAM split, stochastic depth, config lines. */
class SwinModelTest {
    static final SwinConfig NARROW = SwinConfig.parse(
            "family=swin patch=4 embed=8 depths=2,2 heads=1,2 window=2 stochastic_depth=0.5 classes=3 in_channels=3");

    /** torch 1.13: ShiftedWindowAttention(4, [2, 2], [1, 1], 1).relative_position_index.tolist(). */
    @Test
    void relativePositionIndexIsTorchvisions() {
        assertArrayEquals(new long[] {4, 3, 1, 0, 5, 4, 2, 1, 7, 6, 4, 3, 8, 7, 5, 4}, SwinTransformer.relativePositionIndex(2));
    }

    /**
     * Hand derivation for a 4x4 map, window 2, shift 1: rows and columns fall in regions 0, 0, 1, 2 (slices (0, -2),
     * (-2, -1), (-1, end)). Window (0, 0) lies in one region: no mask. Window (0, 1) holds columns 2 (region 1) and
     * 3 (region 2): positions 0 and 2 share one, 1 and 3 the other. Window (1, 1): four regions, only the diagonal 0.
     */
    @Test
    void shiftMaskFollowsTorchvisionsRegions() {
        double[] m = SwinTransformer.shiftMask(4, 4, 2, 1, 1);
        assertEquals(4 * 16, m.length);
        for (int i = 0; i < 16; i++) {
            assertEquals(0.0, m[i], "window (0, 0)");
            int p = i / 4;
            int q = i % 4;
            assertEquals(p % 2 == q % 2 ? 0.0 : -100.0, m[16 + i], "window (0, 1) " + p + "," + q);
            assertEquals(p == q ? 0.0 : -100.0, m[48 + i], "window (1, 1) " + p + "," + q);
        }
    }

    @Test
    void swinTIsNamedAndItsUnitsCountStagesAndBlocks() {
        ResNetConfig c = ResNetConfig.named("swin_t", 2);
        assertTrue(c.isSwin());
        assertEquals(SwinConfig.swinT(2), c.swinConfig());
        assertEquals(c, ResNetConfig.parse(c.describe()));
        assertEquals("swin_t", ResNetConfig.parse(c.describe()).architecture());
        Topology t = c.topology();
        assertEquals("head", t.fc());
        assertEquals(List.of("features.0", "features.1.0", "features.1.1", "features.2", "features.3.0", "features.3.1",
                "features.4", "features.5.0", "features.5.1", "features.5.2", "features.5.3", "features.5.4", "features.5.5",
                "features.6", "features.7.0", "features.7.1", "head"), t.unitNames());
        assertEquals(8, t.earlyModules().size());
    }

    @Test
    void registryModelRunsFreezesAndSplitsForGradCam() {
        try (ResNet m = ResNet.builder(ResNetConfig.swin(NARROW)).device(Device.REFERENCE).dtype(DType.F64).seed(5).build();
             Scope s = Scope.open()) {
            Tensor x = Tensor.fromArray(Device.REFERENCE, DType.F64, new SplittableRandom(1).doubles(2 * 3 * 20 * 20).toArray(),
                    2, 3, 20, 20);
            m.eval();
            try (Grad.Mode off = Grad.off()) {
                Tensor y = m.forward(x);
                assertArrayEquals(new int[] {2, 3}, y.shape().dims());
                Tensor fmap = m.featureMap(x);
                assertArrayEquals(new int[] {2, 16, 3, 3}, fmap.shape().dims(), "final norm's output, channels first");
                assertArrayEquals(y.toDoubleArray(), m.head(fmap).toDoubleArray(), 1e-12);
            }
            m.freezeUpTo("features.1.1");
            assertFalse(m.parameters("features.0").get(0).trainable());
            assertFalse(m.parameters("features.1.0").get(0).trainable());
            assertTrue(m.parameters("features.1.1").get(0).trainable());
            assertTrue(m.parameters("head").get(0).trainable());
        }
    }

    /** Stochastic depth (0.5 at the last block) changes train-mode outputs and repeats under the same seed. */
    @Test
    void stochasticDepthIsSeededAndTrainOnly() {
        try (SwinTransformer a = new SwinTransformer(NARROW, Device.REFERENCE, DType.F64);
             SwinTransformer b = new SwinTransformer(NARROW, Device.REFERENCE, DType.F64); Scope s = Scope.open()) {
            SwinTransformer.initialize(a, 3);
            SwinTransformer.initialize(b, 3);
            Tensor x = Tensor.fromArray(Device.REFERENCE, DType.F64, new SplittableRandom(2).doubles(8 * 3 * 16 * 16).toArray(),
                    8, 3, 16, 16);
            a.eval();
            double[] eval = a.forward(x).toDoubleArray();
            a.train();
            a.seed(7);
            b.train();
            b.seed(7);
            double[] ta = a.forward(x).toDoubleArray();
            assertArrayEquals(ta, b.forward(x).toDoubleArray(), 0.0);
            assertFalse(java.util.Arrays.equals(eval, ta));
            a.stochasticDepth(false);
            assertArrayEquals(eval, a.forward(x).toDoubleArray(), 1e-12);
        }
    }

    @Test
    void badConfigurationsAndUnitsAreRefusedClearly() {
        assertThrows(ModelException.class, () -> SwinConfig.parse("family=swin patch=4 embed=10 depths=2 heads=3 window=7 "
                + "stochastic_depth=0 classes=2 in_channels=3"));
        try (SwinTransformer m = new SwinTransformer(NARROW, Device.REFERENCE, DType.F32)) {
            ModelException e = assertThrows(ModelException.class, () -> m.unfreezeFrom("layer3"));
            assertTrue(e.getMessage().contains("features.1.0"), e.getMessage());
        }
    }
}
