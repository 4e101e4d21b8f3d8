package dev.graft.train;

import dev.graft.engine.Device;
import dev.graft.engine.HostTensor;
import dev.graft.engine.StateDict;
import dev.graft.loaders.images.Batch;
import dev.graft.models.BlockType;
import dev.graft.models.ResNet;
import dev.graft.models.ResNetConfig;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The sweep on a tiny network (reference backend): the rates it used, its smoothing, its stop rule and the restore. */
class LrFinderSweepTest {
    private static final ResNetConfig TINY = ResNetConfig.of(BlockType.BASIC, 1, 1, 1, 1).withWidths(4, 4, 8, 8, 8).withNumClasses(2);

    private static TrainConfig config(String optimizer) {
        return new TrainConfig("unused", null, 0.2, null, null, "unused", 16, 16, 4, 1, 1, 1e-3, 1, optimizer, 0.9, 0.01, false,
                "constant", 0, "none", 0, 0, "hold", null, "none", "shuffle", 0, 1, "reference", "loss", null, null, false, null, false, false);
    }

    /** Three fixed batches of 4 random 16x16 images, replayed every epoch. */
    private static Iterator<Batch> epoch(int e) {
        Random r = new Random(11);
        List<Batch> batches = new ArrayList<>();
        for (int b = 0; b < 3; b++) {
            float[] x = new float[4 * 3 * 16 * 16];
            for (int i = 0; i < x.length; i++) {
                x[i] = (float) r.nextGaussian();
            }
            batches.add(new Batch(x, new int[] {0, 1, 0, 1}, new int[] {0, 1, 2, 3}, 3, 16, 16));
        }
        return batches.iterator();
    }

    private static void assertSameState(StateDict want, StateDict got) {
        assertEquals(want.keys(), got.keys());
        for (String k : want.keys()) {
            HostTensor a = want.get(k);
            HostTensor b = got.get(k);
            assertArrayEquals(a.toFloats(), b.toFloats(), 0f, k + " is restored bit for bit");
        }
    }

    @Test
    void usesTheClosedFormRatesSmoothsLikeFastaiAndRestoresTheModel() {
        try (ResNet model = ResNet.builder(TINY).device(Device.REFERENCE).seed(3).build()) {
            StateDict before = model.stateDict();
            LrFinder.Settings s = new LrFinder.Settings(1e-5, 1e-2, 12, "finetune");
            LrFinder.Curve c = LrFinder.sweep(model, new Phase(Phase.FINETUNE, 0, 1), config("adamw"), null,
                    LrFinderSweepTest::epoch, s, Progress.start("t", 1, false));
            assertEquals(12, c.lrs().length, "no divergence over three decades this low: " + c.stopped());
            for (int i = 0; i < 12; i++) {
                double closed = 1e-5 * Math.pow(1e3, i / 11.0); // the rate the optimizer held at step i
                assertEquals(closed, c.lrs()[i], closed * 1e-12, "rate " + i);
            }
            assertArrayEquals(LrSweep.smooth(c.losses(), LrSweep.BETA), c.smoothed(), 1e-12);
            assertNotEquals(c.losses()[0], c.losses()[11], "the weights moved during the sweep");
            assertSameState(before, model.stateDict());
        }
    }

    @Test
    void stopsWhenTheSmoothedLossPassesFourTimesItsBest() {
        try (ResNet model = ResNet.builder(TINY).device(Device.REFERENCE).seed(3).build()) {
            StateDict before = model.stateDict();
            // Plain SGD swept up to 1e6 blows up long before the end.
            LrFinder.Settings s = new LrFinder.Settings(1e-3, 1e6, 60, "finetune");
            LrFinder.Curve c = LrFinder.sweep(model, new Phase(Phase.FINETUNE, 0, 1), config("sgd"), null,
                    LrFinderSweepTest::epoch, s, Progress.start("t", 1, false));
            int n = c.lrs().length;
            assertTrue(n < 60, "stopped early: " + c.stopped());
            double best = Double.POSITIVE_INFINITY;
            for (int i = 0; i < n - 1; i++) {
                best = Math.min(best, c.smoothed()[i]);
                assertTrue(c.smoothed()[i] <= 4 * best, "no stop was due at step " + i);
            }
            if (c.stopped().startsWith("the smoothed loss")) {
                assertTrue(c.smoothed()[n - 1] > 4 * Math.min(best, c.smoothed()[n - 1]), "the last point is the one past 4x");
            } else {
                assertTrue(c.stopped().startsWith("the loss became"), c.stopped());
            }
            assertSameState(before, model.stateDict());
        }
    }

    @Test
    void badSettingsAreOptionErrors() {
        assertEquals("--end-lr 1.0E-8 is not above --start-lr 1.0E-7: the range test raises the rate; give --end-lr > --start-lr (defaults 1e-7 and 10)",
                org.junit.jupiter.api.Assertions.assertThrows(OptionException.class, () -> new LrFinder.Settings(1e-7, 1e-8, 100, "head")).getMessage());
        org.junit.jupiter.api.Assertions.assertThrows(OptionException.class, () -> new LrFinder.Settings(0, 10, 100, "head"));
        org.junit.jupiter.api.Assertions.assertThrows(OptionException.class, () -> new LrFinder.Settings(1e-7, Double.NaN, 100, "head"));
        org.junit.jupiter.api.Assertions.assertThrows(OptionException.class, () -> new LrFinder.Settings(1e-7, 10, 1, "head"));
        org.junit.jupiter.api.Assertions.assertThrows(OptionException.class, () -> new LrFinder.Settings(1e-7, 10, 100, "all"));
        assertEquals(null, new LrFinder.Settings(1e-7, 10, 100, null).phase(), "no --phase: chosen from whether weights were given");
        assertEquals("finetune", new LrFinder.Settings(1e-7, 10, 100, " FineTune").phase());
    }
}
