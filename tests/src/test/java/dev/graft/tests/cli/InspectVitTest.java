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
 * {@code graft inspect} recognises torchvision's vit_b_16 / vit_b_32 / vit_l_16 and DeiT-S (timm's names) from keys and
 * shapes alone: safetensors headers written from the state_dict listings of make_vit_fixtures.py, data left as a hole.
 */
class InspectVitTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    @Test
    void namesEachVisionTransformer() throws IOException {
        for (String arch : List.of("vit_b_16", "vit_b_32", "vit_l_16", "deit_s")) {
            Path file = tmp.resolve(arch + ".safetensors");
            InspectCommandTest.writeSparseSafetensors(file, arch, "/parity/vit_keys.txt.gz");
            String text = Cli.ok("inspect", file).out();
            String names = arch.equals("deit_s") ? "timm's names" : "torchvision's names";
            int patch = arch.equals("vit_b_32") ? 32 : 16;
            assertTrue(text.contains("architecture  " + arch + " (vision transformer, " + names + "), 1000 classes, 224x224 images, patch "
                    + patch), text);
            JsonNode j = JSON.readTree(Cli.ok("inspect", "--json", file).out());
            assertEquals(arch, j.at("/architecture/name").asText(), arch);
            assertEquals("vit", j.at("/architecture/family").asText(), arch);
            assertEquals(224, j.at("/architecture/image_size").asInt(), arch);
        }
    }
}
