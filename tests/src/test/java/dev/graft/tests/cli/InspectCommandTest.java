package dev.graft.tests.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.graft.engine.Device;
import dev.graft.loaders.SafeTensors;
import dev.graft.models.ResNet;
import dev.graft.models.ResNetConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPInputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code graft inspect} on the committed .pth fixtures, on safetensors files Graft writes, and on torchvision's resnet18 layout. */
class InspectCommandTest {
    static final String NARROW = "block=basic layers=2,1,1,1 groups=1 width_per_group=64 stem=4 planes=4,4,8,8 classes=3 in_channels=3";
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path tmp;

    @Test
    void pthZipAsTables() {
        String out = Cli.ok("inspect", Cli.fixture("narrow.pth")).out();
        assertTrue(out.contains("format        pytorch zip"), out);
        assertTrue(out.contains("architecture  custom ResNet (" + NARROW + ")"), out);
        assertTrue(out.contains("parameters    3,767 in 44 tensors"), out);
        assertTrue(out.contains("buffers       174 in 42 tensors"), out);
        assertTrue(out.matches("(?s).*\\nconv1\\.weight +float32 +\\[4, 3, 7, 7\\] +588\\n.*"), out);
        assertTrue(out.matches("(?s).*\\nlayer4\\.0\\.downsample\\.1\\.num_batches_tracked +int64 +\\[\\] +1\\n.*"), out);
        assertFalse(out.contains("metadata"), "a .pth has no metadata");
    }

    @Test
    void pthZipAsJson() throws IOException {
        JsonNode j = JSON.readTree(Cli.ok("inspect", "--json", Cli.fixture("narrow.pth")).out());
        assertEquals("pytorch zip", j.get("format").asText());
        assertEquals("", j.get("state_dict_key").asText());
        assertTrue(j.at("/architecture/resnet").asBoolean());
        assertEquals("custom", j.at("/architecture/name").asText());
        assertEquals(NARROW, j.at("/architecture/config").asText());
        assertEquals(3, j.at("/architecture/classes").asInt());
        assertEquals(3767, j.get("parameters").asLong());
        assertEquals(86, j.get("tensors").size());
        JsonNode first = j.get("tensors").get(0);
        assertEquals("conv1.weight", first.get("name").asText());
        assertEquals("float32", first.get("dtype").asText());
        assertEquals("[4,3,7,7]", first.get("shape").toString());
        assertEquals(588, first.get("elements").asInt());
        assertEquals(0, j.get("skipped").size());
    }

    @Test
    void wrappedLegacyCheckpoint() throws IOException {
        Path file = Cli.fixture("narrow_wrapped_legacy.pth");
        JsonNode j = JSON.readTree(Cli.ok("inspect", "--json", file).out());
        assertEquals("pytorch legacy stream", j.get("format").asText());
        assertEquals("state_dict", j.get("state_dict_key").asText());
        assertEquals("module.", j.at("/architecture/key_prefix").asText());
        assertEquals("module.conv1.weight", j.at("/tensors/0/name").asText());
        List<String> skipped = new ArrayList<>();
        j.get("skipped").forEach(s -> skipped.add(s.get("key").asText()));
        assertEquals(List.of("epoch", "arch"), skipped);

        String text = Cli.ok("inspect", "--key-path", "state_dict", file).out();
        assertTrue(text.contains("at key path 'state_dict'"), text);
        assertTrue(text.contains("keys prefixed 'module.'"), text);
        assertTrue(text.matches("(?s).*\\nnot loaded +why\\n.*\\nepoch +outside the selected state dict: 7\\n.*"), text);
        Cli.userError(Cli.args("inspect", "--key-path", "model/ema", file), file.toString(), "model");
    }

    @Test
    void safetensorsWithGraftMetadata() throws IOException {
        Path file = tmp.resolve("narrow.safetensors");
        try (ResNet m = ResNet.builder(ResNetConfig.parse(NARROW)).device(Device.REFERENCE).build()) {
            SafeTensors.write(file, m.stateDict());
        }
        String text = Cli.ok("inspect", file).out();
        assertTrue(text.contains("format        safetensors"), text);
        assertTrue(text.matches("(?s).*\\n  graft\\.resnet +" + NARROW + "\\n.*"), text);
        assertTrue(text.matches("(?s).*\\n  graft\\.batchnorm_policy +track\\n.*"), text);
        assertTrue(text.contains("integrity     SHA-256 per tensor (graft.sha256): verified, all 86 tensors ("), text);
        assertTrue(text.matches("(?s).*\\nkey +dtype +shape +elements +sha256\\n.*"), text);
        JsonNode j = JSON.readTree(Cli.ok("inspect", "--json", file).out());
        assertEquals("custom", j.at("/metadata/graft.architecture").asText());
        assertEquals(NARROW, j.at("/metadata/graft.resnet").asText());
        assertEquals(3767, j.get("parameters").asLong());
        assertEquals("verified", j.at("/integrity/status").asText());
        assertEquals(86, j.at("/integrity/verified").asInt());
        assertTrue(j.at("/tensors/0/sha256").asText().matches("[0-9a-f]{64}"), j.at("/tensors/0").toString());
        assertTrue(text.contains(" " + j.at("/tensors/0/sha256").asText().substring(0, 16) + "\n"), "the table shows 16 hex digits");
        assertTrue(j.at("/metadata/graft.sha256").isMissingNode(), "the record is shown as integrity, not metadata");
    }

    /**
     * torchvision's resnet18 layout (keys and shapes from the parity listing), stored as float16: a sparse
     * safetensors file whose data region is never read, since inspect reads headers only.
     */
    @Test
    void namesTorchvisionArchitectureAndShowsStoredDtypes() throws IOException {
        Path file = tmp.resolve("resnet18_f16.safetensors");
        writeSparseSafetensors(file, "resnet18");
        String text = Cli.ok("inspect", file).out();
        assertTrue(text.contains("architecture  resnet18 (torchvision), 1000 classes, 3 input channels"), text);
        assertTrue(text.contains("parameters    11,689,512 in 62 tensors"), text);
        assertTrue(text.matches("(?s).*\\nfc\\.weight +float16 +\\[1000, 512\\] +512,000\\n.*"), text);
        JsonNode j = JSON.readTree(Cli.ok("inspect", "--json", file).out());
        assertEquals("resnet18", j.at("/architecture/name").asText());
        assertEquals(11_689_512L, j.get("parameters").asLong());
        assertEquals("float16", j.at("/tensors/0/dtype").asText());
    }

    @Test
    void saysWhenItIsNotAResNet() throws IOException {
        String text = Cli.ok("inspect", Cli.fixture("input.npy")).out();
        assertTrue(text.contains("format        npy"), text);
        assertTrue(text.contains("architecture  not a ResNet: no key conv1.weight"), text);
        JsonNode j = JSON.readTree(Cli.ok("inspect", "--json", Cli.fixture("input.npy")).out());
        assertFalse(j.at("/architecture/resnet").asBoolean());
        assertEquals("no key conv1.weight", j.at("/architecture/reason").asText());
        assertEquals("[4,3,24,24]", j.at("/tensors/0/shape").toString());
    }

    /** Header of {@code arch}'s keys (floats as F16, integers as I64), then a hole as long as the data would be. */
    static void writeSparseSafetensors(Path file, String arch) throws IOException {
        writeSparseSafetensors(file, arch, "/parity/torchvision_keys.txt.gz");
    }

    /** As above, from another listing of the same form (make_cbr_fixtures.py's cbr_keys.txt.gz). */
    static void writeSparseSafetensors(Path file, String arch, String listing) throws IOException {
        ObjectNode header = JSON.createObjectNode();
        long offset = 0;
        try (BufferedReader r = new BufferedReader(new InputStreamReader(new GZIPInputStream(
                InspectCommandTest.class.getResourceAsStream(listing)), StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                String[] f = line.split(" ", -1);
                if (!f[0].equals(arch)) {
                    continue;
                }
                boolean integer = f[2].equals("int64");
                long n = 1;
                ObjectNode t = header.putObject(f[1]);
                t.put("dtype", integer ? "I64" : "F16");
                var shape = t.putArray("shape");
                if (!f[3].isEmpty()) {
                    for (String d : f[3].split(",")) {
                        shape.add(Integer.parseInt(d));
                        n *= Integer.parseInt(d);
                    }
                }
                long bytes = n * (integer ? 8 : 2);
                t.putArray("data_offsets").add(offset).add(offset + bytes);
                offset += bytes;
            }
        }
        byte[] json = JSON.writeValueAsBytes(header);
        int padded = (json.length + 7) / 8 * 8;
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            long len = padded;
            for (int i = 0; i < 8; i++) {
                f.write((int) (len >>> (8 * i)) & 0xff);
            }
            f.write(json);
            f.write(" ".repeat(padded - json.length).getBytes(StandardCharsets.US_ASCII));
            f.setLength(8 + padded + offset);
        }
    }
}
