package dev.graft.tests.cli;

import dev.graft.engine.HostTensor;
import dev.graft.engine.StateDict;
import dev.graft.loaders.SafeTensors;
import dev.graft.loaders.StateDicts;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code graft convert}: .pth (zip and legacy) and safetensors to safetensors, key mapping, metadata, no silent overwrite. */
class ConvertCommandTest {
    @TempDir
    Path tmp;

    /** torch's tensors, read from the plain (zip, unprefixed) fixture. */
    private static StateDict source() {
        return StateDicts.read(Cli.fixture("narrow.pth"));
    }

    private static void assertSameTensors(StateDict expected, StateDict actual) {
        assertEquals(List.copyOf(expected.keys()), List.copyOf(actual.keys()), "keys and order");
        for (Map.Entry<String, HostTensor> e : expected.tensors().entrySet()) {
            assertEquals(e.getValue(), actual.get(e.getKey()), e.getKey() + ": dtype, shape and every value bit for bit");
        }
    }

    @Test
    void wrappedLegacyPthToSafetensorsStripsPrefixAndKeepsValues() {
        Path out = tmp.resolve("narrow.safetensors");
        Cli.Run r = Cli.ok("convert", Cli.fixture("narrow_wrapped_legacy.pth"), out);
        assertTrue(r.out().contains("keys: stripped 'module.'"), r.out());
        assertTrue(r.out().contains("left out 2 entries"), r.out());
        StateDict converted = SafeTensors.read(out);
        assertSameTensors(source(), converted);
        Map<String, String> meta = converted.metadata();
        assertEquals("narrow_wrapped_legacy.pth", meta.get("graft.source"));
        assertEquals("pytorch legacy stream", meta.get("graft.source_format"));
        assertEquals("state_dict", meta.get("graft.source_key"));
        assertEquals("stripped 'module.'", meta.get("graft.key_mapping"));
        assertEquals("custom", meta.get("graft.architecture"));
        assertEquals(InspectCommandTest.NARROW, meta.get("graft.resnet"));
    }

    @Test
    void zipPthToSafetensors() {
        Path out = tmp.resolve("plain.safetensors");
        Cli.ok("convert", Cli.fixture("narrow.pth"), out);
        StateDict converted = SafeTensors.read(out);
        assertSameTensors(source(), converted);
        assertEquals("pytorch zip", converted.metadata().get("graft.source_format"));
    }

    @Test
    void refusesToOverwriteWithoutForce() throws IOException {
        Path out = tmp.resolve("taken.safetensors");
        Files.writeString(out, "keep me");
        Cli.userError(Cli.args("convert", Cli.fixture("narrow.pth"), out), out.toString(), "already exists", "--force");
        assertEquals("keep me", Files.readString(out));
        Cli.ok("convert", "--force", Cli.fixture("narrow.pth"), out);
        assertSameTensors(source(), SafeTensors.read(out));
        try (var files = Files.list(tmp)) {
            assertEquals(List.of(out), files.toList(), "no temporary file left behind");
        }
    }

    @Test
    void explicitPrefixOptionsAndRenames() {
        Path kept = tmp.resolve("kept.safetensors");
        Cli.ok("convert", "--strip-prefix", "none", Cli.fixture("narrow_wrapped_legacy.pth"), kept);
        assertEquals("module.conv1.weight", SafeTensors.read(kept).keys().iterator().next());

        Path renamed = tmp.resolve("renamed.safetensors");
        Cli.ok("convert", "--strip-prefix", "module.", "--rename", "fc.=head.", "--rename", "layer4.=stage4.",
                Cli.fixture("narrow_wrapped_legacy.pth"), renamed);
        StateDict r = SafeTensors.read(renamed);
        assertTrue(r.contains("head.weight") && r.contains("stage4.0.conv1.weight") && r.contains("conv1.weight"), r.keys().toString());
        assertArrayEquals(source().get("fc.weight").floats(), r.get("head.weight").floats());
        assertEquals("stripped 'module.'; renamed 'fc.' to 'head.' (2 keys); renamed 'layer4.' to 'stage4.' (18 keys)",
                r.metadata().get("graft.key_mapping"));

        Cli.userError(Cli.args("convert", "--rename", "classifier.=fc.", Cli.fixture("narrow.pth"), tmp.resolve("x.safetensors")),
                "--rename classifier.=fc.", "no key starts with 'classifier.'");
        Cli.userError(Cli.args("convert", "--rename", "fc.weight", Cli.fixture("narrow.pth"), tmp.resolve("x.safetensors")),
                "expected FROM=TO");
        Cli.userError(Cli.args("convert", "--rename", "fc.weight=fc.bias", Cli.fixture("narrow.pth"), tmp.resolve("x.safetensors")),
                "two tensors the name 'fc.bias'");
    }

    @Test
    void safetensorsToSafetensorsKeepsMetadata() {
        Path first = tmp.resolve("first.safetensors");
        Path second = tmp.resolve("second.safetensors");
        Cli.ok("convert", Cli.fixture("narrow_wrapped_legacy.pth"), first);
        Cli.ok("convert", "--rename", "=backbone.", first, second);
        StateDict s = SafeTensors.read(second);
        assertEquals("backbone.conv1.weight", s.keys().iterator().next());
        assertEquals(InspectCommandTest.NARROW, s.metadata().get("graft.resnet"));
        assertEquals("first.safetensors", s.metadata().get("graft.source"));
        assertEquals("safetensors", s.metadata().get("graft.source_format"));
        assertEquals("renamed '' to 'backbone.' (86 keys)", s.metadata().get("graft.key_mapping"));
        assertTrue(!s.metadata().containsKey("graft.source_key"), "provenance of the earlier conversion is not carried over");
        assertArrayEquals(source().get("layer3.0.conv2.weight").floats(), s.get("backbone.layer3.0.conv2.weight").floats());
    }
}
