package dev.graft.tests.parity;

import dev.graft.engine.DType;
import dev.graft.engine.Shape;
import dev.graft.engine.Tensor;
import dev.graft.models.ArchitectureInference;
import dev.graft.models.ResNet;
import dev.graft.models.ResNetConfig;
import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Every key, dtype, shape and the key order of torchvision's state_dict for the 9 named architectures
 * (1000 classes; listing written by make_parity_fixtures.py) equal Graft's exactly, and the architecture
 * inferred from torchvision's shapes alone is the right one.
 */
class TorchvisionKeysTest {

    record Entry(String key, String dtype, Shape shape) {
    }

    static Map<String, List<Entry>> listing() throws IOException {
        return listing("torchvision_keys.txt.gz");
    }

    /** A listing of the same form under the parity resources. */
    static Map<String, List<Entry>> listing(String resource) throws IOException {
        Map<String, List<Entry>> out = new LinkedHashMap<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(
                new GZIPInputStream(Files.newInputStream(RawFixture.resourcePath(resource))), StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                String[] f = line.split(" ", -1);
                int[] dims = f[3].isEmpty() ? new int[0] : Arrays.stream(f[3].split(",")).mapToInt(Integer::parseInt).toArray();
                out.computeIfAbsent(f[0], a -> new ArrayList<>()).add(new Entry(f[1], f[2], Shape.of(dims)));
            }
        }
        return out;
    }

    @Test
    void keysDtypesShapesAndOrderEqualTorchvisions() throws IOException {
        Map<String, List<Entry>> torchvision = listing();
        assertEquals(ResNetConfig.architectures(), torchvision.keySet());
        torchvision.forEach((arch, entries) -> {
            try (ResNet m = ResNet.builder(arch).initialize(false).build()) {
                Map<String, Tensor> state = m.namedState();
                assertEquals(entries.stream().map(Entry::key).toList(), List.copyOf(state.keySet()), arch);
                Map<String, Shape> shapes = new LinkedHashMap<>();
                for (Entry e : entries) {
                    Tensor t = state.get(e.key());
                    assertEquals(e.shape(), t.shape(), arch + " " + e.key());
                    assertEquals(e.dtype(), t.dtype() == DType.I64 ? "int64" : "float32", arch + " " + e.key());
                    shapes.put(e.key(), e.shape());
                }
                ResNetConfig inferred = ArchitectureInference.infer(shapes);
                assertEquals(arch, inferred.architecture());
                assertEquals(1000, inferred.numClasses());
            }
        });
    }
}
