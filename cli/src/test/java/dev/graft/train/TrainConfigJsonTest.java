package dev.graft.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.graft.loaders.images.ImageDecoder;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The image reading settings travel with the saved configuration, and older configurations still resume. */
class TrainConfigJsonTest {
    private static TrainConfig config(Long maxImagePixels, boolean lenient) {
        return new TrainConfig("data", null, 0.2, null, null, "runs/x", 224, 256, 32, 1, 3, 2e-3, 100, "adamw", 0.9, 0.01, false,
                "onecycle", 0, "none", 0, 0, "hold", null, "default", "shuffle", 0, 2, "auto", "loss", "youden", null, false,
                maxImagePixels, lenient);
    }

    @Test
    void imageSettingsRoundTrip() {
        TrainConfig c = TrainConfig.fromJson(config(400_000_000L, true).toJson());
        assertEquals(400_000_000L, c.maxImagePixels());
        assertTrue(c.lenient());
        assertEquals(new ImageDecoder.Options(400_000_000L, true), c.imageDecoding());
    }

    @Test
    void configurationsSavedBeforeThemReadAsTheDefaults() throws Exception {
        ObjectNode old = (ObjectNode) new ObjectMapper().readTree(config(5L, true).toJson());
        old.remove("maxImagePixels");
        old.remove("lenient");
        TrainConfig c = TrainConfig.fromJson(old.toString());
        assertNull(c.maxImagePixels());
        assertFalse(c.lenient());
        assertEquals(ImageDecoder.Options.defaults(), c.imageDecoding());
    }

    @Test
    void calibrateRoundTripsAndReadsFalseFromOlderConfigurations() throws Exception {
        TrainConfig c = config(null, false);
        TrainConfig calibrated = new TrainConfig(c.data(), c.val(), c.valFraction(), c.arch(), c.weights(), c.out(), c.imageSize(),
                c.resizeSize(), c.batchSize(), c.headEpochs(), c.finetuneEpochs(), c.lr(), c.lrMult(), c.optimizer(), c.momentum(),
                c.weightDecay(), c.nesterov(), c.schedule(), c.warmupEpochs(), c.classWeights(), c.labelSmoothing(), c.clipGradNorm(),
                c.bnPolicy(), c.unfreezeFrom(), c.augment(), c.sampler(), c.seed(), c.workers(), c.device(), c.monitor(), c.threshold(),
                c.positiveClass(), c.strict(), c.maxImagePixels(), c.lenient(), true);
        assertTrue(TrainConfig.fromJson(calibrated.toJson()).calibrate());
        ObjectNode old = (ObjectNode) new ObjectMapper().readTree(calibrated.toJson());
        old.remove("calibrate");
        assertFalse(TrainConfig.fromJson(old.toString()).calibrate());
    }

    /** --aux-weight travels with the configuration; one saved before it was recorded reads as the default 0.4. */
    @Test
    void auxWeightRoundTripsAndReadsTheDefaultFromOlderConfigurations() throws Exception {
        TrainConfig c = config(null, false);
        assertEquals(0.4, c.auxWeight(), "not given: torchvision's 0.4");
        TrainConfig weighted = c.withAuxWeight(0.25);
        assertEquals(0.25, TrainConfig.fromJson(weighted.toJson()).auxWeight());
        assertEquals(0.0, TrainConfig.fromJson(c.withAuxWeight(0).toJson()).auxWeight());
        assertEquals(0.25, weighted.withPrecision("bf16").withInit(null, null, null).auxWeight(), "the other with-ers keep it");
        ObjectNode old = (ObjectNode) new ObjectMapper().readTree(weighted.toJson());
        assertEquals(0.25, old.get("auxWeight").asDouble());
        old.remove("auxWeight");
        assertEquals(0.4, TrainConfig.fromJson(old.toString()).auxWeight());
        OptionException e = assertThrows(OptionException.class, () -> c.withAuxWeight(11));
        assertTrue(e.getMessage().contains("--aux-weight"), e.getMessage());
    }

    @Test
    void aLimitBelowOneIsRefused() {
        OptionException e = assertThrows(OptionException.class, () -> config(0L, false));
        assertTrue(e.getMessage().contains("--max-image-pixels"), e.getMessage());
    }
}
