package dev.graft.tests.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code graft inspect} recognises each named CBR network from keys and shapes alone: safetensors headers written
 * from the PyTorch re-implementation's state_dict listing (make_cbr_fixtures.py), data left as a hole.
 */
class InspectCbrTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    @Test
    void namesEachCbrNetwork() throws IOException {
        for (String arch : List.of("cbr_tiny", "cbr_small", "cbr_large_t", "cbr_large_w")) {
            Path file = tmp.resolve(arch + ".safetensors");
            InspectCommandTest.writeSparseSafetensors(file, arch, "/parity/cbr_keys.txt.gz");
            String text = Cli.ok("inspect", file).out();
            assertTrue(text.contains("architecture  " + arch + " (Transfusion CBR), 1000 classes, 3 input channels"), text);
            JsonNode j = JSON.readTree(Cli.ok("inspect", "--json", file).out());
            assertEquals(arch, j.at("/architecture/name").asText(), arch);
            assertEquals("cbr", j.at("/architecture/family").asText(), arch);
        }
    }
}
