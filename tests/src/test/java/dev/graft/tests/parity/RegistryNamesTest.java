package dev.graft.tests.parity;

import dev.graft.engine.Shape;
import dev.graft.models.ArchitectureInference;
import dev.graft.models.InferencePlan;
import dev.graft.models.ResNet;
import dev.graft.models.ResNetConfig;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The names and shapes derived from the architecture registry's declaration alone (no module built:
 * {@link InferencePlan#stateShapes}) equal torchvision's state_dict for resnet18 and resnet50 (the listing
 * make_parity_fixtures.py wrote with torchvision 0.14), and the CBR family's equal a PyTorch re-implementation's.
 */
class RegistryNamesTest {
    @Test
    void declaredNamesAreTorchvisionsStateDictKeys() throws IOException {
        Map<String, List<TorchvisionKeysTest.Entry>> torchvision = TorchvisionKeysTest.listing();
        for (String arch : List.of("resnet18", "resnet50")) {
            Map<String, Shape> expected = new LinkedHashMap<>();
            torchvision.get(arch).forEach(e -> expected.put(e.key(), e.shape()));
            assertEquals(expected, new LinkedHashMap<>(InferencePlan.stateShapes(ResNetConfig.named(arch, 1000))), arch);
        }
    }

    /**
     * The four named CBR networks: keys, order and shapes of the model built from the declaration equal the PyTorch
     * re-implementation's state_dict (make_cbr_fixtures.py's listing), and so do the declared names alone; the
     * network recognised from those shapes is the named one.
     */
    @Test
    void cbrNamesArePyTorchSequentialKeys() throws IOException {
        Map<String, List<TorchvisionKeysTest.Entry>> listing = TorchvisionKeysTest.listing("cbr_keys.txt.gz");
        assertEquals(List.of("cbr_large_t", "cbr_large_w", "cbr_small", "cbr_tiny"), List.copyOf(listing.keySet()));
        listing.forEach((arch, entries) -> {
            Map<String, Shape> expected = new LinkedHashMap<>();
            entries.forEach(e -> expected.put(e.key(), e.shape()));
            try (ResNet m = ResNet.builder(arch).initialize(false).build()) {
                Map<String, Shape> built = new LinkedHashMap<>();
                m.namedState().forEach((k, t) -> built.put(k, t.shape()));
                assertEquals(List.copyOf(expected.keySet()), List.copyOf(built.keySet()), arch + ": keys in order");
                assertEquals(expected, built, arch);
            }
            assertEquals(expected, new LinkedHashMap<>(InferencePlan.stateShapes(ResNetConfig.named(arch, 1000))), arch);
            assertEquals(arch, ArchitectureInference.infer(expected).architecture());
        });
    }
}
