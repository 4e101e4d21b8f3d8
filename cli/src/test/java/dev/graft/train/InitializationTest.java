package dev.graft.train;

import dev.graft.engine.Device;
import dev.graft.engine.Tensor;
import dev.graft.models.BatchNorm2d;
import dev.graft.models.Conv2d;
import dev.graft.models.Linear;
import dev.graft.models.Module;
import dev.graft.models.ResNet;
import dev.graft.models.ResNetConfig;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code --init stats|mean-var|random} and {@code --transfer-up-to}: what each does to a "pretrained" network. */
class InitializationTest {
    /** A narrow ResNet-10: conv1 16x3x7x7 (2,352 values), layer4's convs 32x32x3x3 (9,216 values). */
    static final String NET = "block=basic layers=1,1,1,1 groups=1 width_per_group=64 stem=16 planes=16,16,32,32 classes=3 in_channels=3";

    static TrainConfig config(String init, String upTo, String above, long seed) {
        return new TrainConfig("data", null, 0.2, null, "pretrained.safetensors", "runs/x", 32, 32, 8, 1, 3, 2e-3, 100, "adamw", 0.9,
                0.01, false, "onecycle", 0, "none", 0, 0, "hold", null, "default", "shuffle", seed, 1, "auto", "loss", "youden", null,
                false, null, false, false, null, init, upTo, above);
    }

    /**
     * A stand-in for pretrained weights: the seeded torchvision init, then every batch norm moved off its defaults
     * (weight 0.7, bias -0.2, running mean 0.3, running variance 2.5) and every conv weight shifted by +0.05, so that
     * a reset or a resampling is visible and a non-zero mean is carried over.
     */
    static ResNet pretrained() {
        ResNet m = ResNet.builder(ResNetConfig.parse(NET)).device(Device.REFERENCE).seed(11).build();
        for (Module mod : m.namedModules().values()) {
            if (mod instanceof BatchNorm2d bn) {
                set(bn.weight().tensor(), 0.7f);
                set(bn.bias().tensor(), -0.2f);
                set(bn.namedState().get("running_mean"), 0.3f);
                set(bn.namedState().get("running_var"), 2.5f);
            } else if (mod instanceof Conv2d c) {
                float[] v = c.weight().tensor().toFloatArray();
                for (int i = 0; i < v.length; i++) {
                    v[i] += 0.05f;
                }
                c.weight().tensor().data().backend().copyFromHost(c.weight().tensor().data(), v);
            }
        }
        return m;
    }

    static void set(Tensor t, float value) {
        t.data().backend().fill(t.data(), value);
    }

    static Map<String, float[]> values(ResNet m) {
        Map<String, float[]> out = new LinkedHashMap<>();
        m.namedState().forEach((k, t) -> {
            if (!k.endsWith("num_batches_tracked")) {
                out.put(k, t.toFloatArray());
            }
        });
        return out;
    }

    static double[] meanStd(float[] v) {
        double s = 0;
        for (float x : v) {
            s += x;
        }
        double mean = s / v.length;
        double ss = 0;
        for (float x : v) {
            ss += (x - mean) * (x - mean);
        }
        return new double[] {mean, Math.sqrt(ss / (v.length - 1))};
    }

    @Test
    void meanAndUnbiasedStdMatchAHandComputation() {
        // [1, 2, 3, 4]: mean 2.5, squared deviations 2.25 + 0.25 + 0.25 + 2.25 = 5, unbiased variance 5/3 (torch's std()).
        double[] ms = Initialization.meanStd(new float[] {1, 2, 3, 4});
        assertEquals(2.5, ms[0], 1e-12);
        assertEquals(Math.sqrt(5.0 / 3.0), ms[1], 1e-12);
        assertEquals(0, Initialization.meanStd(new float[] {7})[1]); // one value: no spread (torch would give nan)
    }

    @Test
    void statsResamplesEveryConvAndLinearTensorWithItsOwnMeanAndStdAndResetsBatchNorm() {
        try (ResNet m = pretrained()) {
            Map<String, float[]> before = values(m);
            Initialization.apply(m, config("stats", null, null, 5));
            Map<String, float[]> after = values(m);
            int checked = 0;
            for (var e : m.namedModules().entrySet()) {
                if (e.getValue() instanceof Conv2d || e.getValue() instanceof Linear) {
                    String key = e.getKey() + ".weight";
                    float[] src = before.get(key);
                    float[] got = after.get(key);
                    assertFalse(java.util.Arrays.equals(src, got), key + " kept its pretrained values");
                    double[] want = meanStd(src);
                    double[] have = meanStd(got);
                    int n = src.length;
                    // Sampling tolerance: the mean of n i.i.d. N(mu, s) draws has standard error s/sqrt(n), the sample std
                    // about s/sqrt(2(n-1)); 5 standard errors leave a false alarm under 1e-6 per tensor.
                    assertEquals(want[0], have[0], 5 * want[1] / Math.sqrt(n), key + " mean (n=" + n + ")");
                    assertEquals(want[1], have[1], 5 * want[1] / Math.sqrt(2.0 * (n - 1)), key + " std (n=" + n + ")");
                    checked++;
                } else if (e.getValue() instanceof BatchNorm2d bn) {
                    String p = e.getKey() + ".";
                    assertAll(after.get(p + "weight"), 1f, p + "weight");
                    assertAll(after.get(p + "bias"), 0f, p + "bias");
                    assertAll(after.get(p + "running_mean"), 0f, p + "running_mean");
                    assertAll(after.get(p + "running_var"), 1f, p + "running_var");
                    assertEquals(0, bn.numBatchesTracked());
                }
            }
            assertEquals(m.topology().convolutions().size() + 1, checked); // every conv and fc
        }
    }

    @Test
    void aConstantTensorStaysConstantUnderStatsAndMeanVar() {
        // Hand derivation: a tensor whose values are all c has mean c and variance 0, so N(c, 0) draws are exactly c.
        for (String kind : new String[] {"stats", "mean-var"}) {
            try (ResNet m = pretrained()) {
                set(m.fc().weight().tensor(), 0.25f);
                Initialization.apply(m, config(kind, null, null, 1));
                assertAll(m.fc().weight().tensor().toFloatArray(), 0.25f, kind + " fc.weight");
            }
        }
    }

    @Test
    void meanVarDrawsBatchNormWeightsFromTheirPretrainedStatisticsWhereStatsResetsThem() {
        try (ResNet m = pretrained()) {
            // bn1 weight holds 0.7 everywhere and bias -0.2 (see pretrained()): mean 0.7 / -0.2, variance 0, so Mean Var
            // draws exactly those values, where ST would set 1 and 0. Running statistics are reset by both.
            Map<String, float[]> before = values(m);
            Initialization.apply(m, config("mean-var", null, null, 2));
            Map<String, float[]> after = values(m);
            assertAll(after.get("bn1.weight"), 0.7f, "bn1.weight");
            assertAll(after.get("bn1.bias"), -0.2f, "bn1.bias");
            assertAll(after.get("bn1.running_mean"), 0f, "bn1.running_mean");
            assertAll(after.get("bn1.running_var"), 1f, "bn1.running_var");
            // A conv weight: N(mean, var) of the pretrained tensor, within the sampling tolerance stated above.
            float[] src = before.get("layer4.0.conv2.weight");
            float[] got = after.get("layer4.0.conv2.weight");
            double[] want = meanStd(src);
            double[] have = meanStd(got);
            assertEquals(want[0], have[0], 5 * want[1] / Math.sqrt(src.length));
            assertEquals(want[1], have[1], 5 * want[1] / Math.sqrt(2.0 * (src.length - 1)));
            assertFalse(java.util.Arrays.equals(src, got));
        }
    }

    @Test
    void transferUpToKeepsEveryTensorUpToTheUnitExactlyAndChangesEveryOneAbove() {
        for (String above : new String[] {"stats", "random"}) {
            try (ResNet m = pretrained()) {
                Map<String, float[]> before = values(m);
                Initialization.apply(m, config(null, "layer2", above, 9));
                Map<String, float[]> after = values(m);
                for (String k : before.keySet()) {
                    boolean below = k.startsWith("conv1.") || k.startsWith("bn1.") || k.startsWith("layer1.") || k.startsWith("layer2.");
                    if (below) {
                        assertArrayEquals(before.get(k), after.get(k), above + ": " + k + " changed below the unit");
                    } else {
                        assertFalse(java.util.Arrays.equals(before.get(k), after.get(k)), above + ": " + k + " kept above the unit");
                    }
                }
            }
        }
    }

    @Test
    void transferUpToWorksOnTheCbrFamilysUnits() {
        // CBR units are each conv with its batch norm, named by the conv: features.0 (+ .1), features.4 (+ .5), ...
        try (ResNet m = ResNet.builder(ResNetConfig.parse("family=cbr kernel=5 channels=8,8,16,16 pools=1,1,1,1 classes=3 in_channels=3"))
                .device(Device.REFERENCE).seed(2).build()) {
            Map<String, float[]> before = values(m);
            Initialization.apply(m, config(null, "features.4", "stats", 3));
            Map<String, float[]> after = values(m);
            for (String k : before.keySet()) {
                boolean below = k.startsWith("features.0.") || k.startsWith("features.1.") || k.startsWith("features.4.")
                        || k.startsWith("features.5.");
                if (below) {
                    assertArrayEquals(before.get(k), after.get(k), k);
                }
            }
            // Above the unit the convolutions and fc are resampled (a fresh network's batch norms already hold 1/0 and 0/1).
            for (String k : List.of("features.8.weight", "features.12.weight", "fc.weight", "fc.bias")) {
                assertFalse(java.util.Arrays.equals(before.get(k), after.get(k)), k);
            }
            assertThrows(OptionException.class, () -> Initialization.apply(m, config(null, "features.1", null, 3)));
        }
    }

    @Test
    void theSameSeedGivesTheSameNetworkAndAnotherSeedAnother() {
        try (ResNet a = pretrained(); ResNet b = pretrained(); ResNet c = pretrained()) {
            Initialization.apply(a, config("stats", null, null, 4));
            Initialization.apply(b, config("stats", null, null, 4));
            Initialization.apply(c, config("stats", null, null, 5));
            assertArrayEquals(values(a).get("layer3.0.conv1.weight"), values(b).get("layer3.0.conv1.weight"));
            assertFalse(java.util.Arrays.equals(values(a).get("layer3.0.conv1.weight"), values(c).get("layer3.0.conv1.weight")));
        }
    }

    @Test
    void randomWithWeightsKeepsOnlyTheArchitecture() {
        try (ResNet m = pretrained()) {
            Initialization.apply(m, config("random", null, null, 3));
            Map<String, float[]> after = values(m);
            assertAll(after.get("bn1.weight"), 1f, "bn1.weight");
            assertAll(after.get("bn1.running_var"), 1f, "bn1.running_var");
            // Conv weights are kaiming normal (fan_out): N(0, 2/(out*k*k)); the stem conv1 is 16x3x7x7 -> std sqrt(2/784),
            // 2,352 values (the pretrained stand-in's mean is +0.05, so a kept tensor fails the mean check by ~60 errors).
            double[] have = meanStd(after.get("conv1.weight"));
            double std = Math.sqrt(2.0 / 784);
            assertEquals(2352, after.get("conv1.weight").length);
            assertEquals(0, have[0], 5 * std / Math.sqrt(2352));
            assertEquals(std, have[1], 5 * std / Math.sqrt(2 * 2351.0));
        }
    }

    @Test
    void theInitialNetworkOfARunIsRebuiltExactlyFromItsConfiguration(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) {
        java.nio.file.Path file = dir.resolve("w.safetensors");
        try (ResNet m = pretrained()) {
            var sd = m.stateDict();
            sd.metadata().putAll(m.metadata());
            dev.graft.loaders.SafeTensors.write(file, sd);
        }
        TrainConfig base = config("stats", null, null, 6);
        TrainConfig cfg = new TrainConfig(base.data(), null, 0.2, NET, file.toString(), "runs/x", 32, 32, 8, 1, 3, 2e-3, 100, "adamw",
                0.9, 0.01, false, "onecycle", 0, "none", 0, 0, "hold", null, "default", "shuffle", 6, 1, "auto", "loss", "youden", null,
                false, null, false, false, null, "stats", null, null);
        try (ResNet a = Initialization.initialNetwork(cfg, 2, Device.REFERENCE); ResNet b = Initialization.initialNetwork(cfg, 2, Device.REFERENCE);
             ResNet p = pretrained()) {
            assertEquals(2, a.config().numClasses()); // the new head
            assertArrayEquals(values(a).get("layer2.0.conv1.weight"), values(b).get("layer2.0.conv1.weight"));
            assertArrayEquals(values(a).get("fc.weight"), values(b).get("fc.weight"));
            assertFalse(java.util.Arrays.equals(values(p).get("layer2.0.conv1.weight"), values(a).get("layer2.0.conv1.weight")));
        }
    }

    @Test
    void optionErrorsSayWhatToDo() {
        assertTrue(assertThrows(OptionException.class, () -> Initialization.check("imagenet", true, null, null)).getMessage()
                .contains("--init"));
        assertTrue(assertThrows(OptionException.class, () -> Initialization.check("stats", false, null, null)).getMessage()
                .contains("--weights"));
        assertTrue(assertThrows(OptionException.class, () -> Initialization.check("pretrained", false, null, null)).getMessage()
                .contains("--weights"));
        assertTrue(assertThrows(OptionException.class, () -> Initialization.check(null, false, "layer2", null)).getMessage()
                .contains("--weights"));
        assertTrue(assertThrows(OptionException.class, () -> Initialization.check("stats", true, "layer2", null)).getMessage()
                .contains("--init-above"));
        assertTrue(assertThrows(OptionException.class, () -> Initialization.check(null, true, null, "stats")).getMessage()
                .contains("--transfer-up-to"));
        assertThrows(OptionException.class, () -> Initialization.check(null, true, "layer2", "mean-var"));
        assertEquals("stats", Initialization.check("STATS", true, null, null));
        assertEquals("random", Initialization.check("random", false, null, null));
        try (ResNet m = pretrained()) {
            OptionException e = assertThrows(OptionException.class, () -> Initialization.apply(m, config(null, "layer9", null, 1)));
            assertTrue(e.getMessage().contains("layer4"), e.getMessage()); // names the units it has
        }
    }

    @Test
    void theInitTravelsWithTheSavedConfigurationAndOlderOnesReadAsNone() {
        TrainConfig c = TrainConfig.fromJson(config(null, "layer1", "stats", 1).toJson());
        assertEquals("layer1", c.transferUpTo());
        assertEquals("stats", c.initAbove());
        assertEquals("mean-var", TrainConfig.fromJson(config("mean-var", null, null, 1).toJson()).init());
        String old = config(null, null, null, 1).toJson().replace(",\"init\":null", "").replace(",\"transferUpTo\":null", "")
                .replace(",\"initAbove\":null", "");
        assertFalse(old.contains("init"), old);
        TrainConfig o = TrainConfig.fromJson(old);
        assertEquals(null, o.init());
        assertTrue(Initialization.transfers(o));
        assertFalse(Initialization.transfers(config("stats", null, null, 1)));
    }

    static void assertAll(float[] v, float want, String what) {
        for (float x : v) {
            assertEquals(want, x, 0f, what);
        }
    }
}
