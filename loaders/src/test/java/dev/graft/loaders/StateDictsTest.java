package dev.graft.loaders;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.graft.engine.GraftException;
import dev.graft.engine.HostTensor;
import dev.graft.engine.Shape;
import dev.graft.engine.StateDict;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The entry point: detection by content, single-tensor files, summaries and the errors around them. */
class StateDictsTest {
    @TempDir
    Path dir;

    @ParameterizedTest(name = "{0}")
    @CsvSource({"views.pth, PTH_ZIP", "views_legacy.pth, PTH_LEGACY", "tar_legacy.pth, PTH_TAR",
        "hand.safetensors, SAFETENSORS", "f4.npy, NPY", "evil.pth, PTH_ZIP"})
    void detectsByContent(String file, Format format) {
        assertEquals(format, StateDicts.detect(Fixtures.path(file)));
    }

    @Test
    void unknownContentAndMissingFilesAreTypedErrors() {
        FormatException e = assertThrows(FormatException.class,
                () -> StateDicts.load("hello, world".getBytes(), "x.bin", LoadOptions.defaults()));
        assertTrue(e.getMessage().startsWith("x.bin at byte 0: unrecognized format (first bytes 68656c6c"), e.getMessage());
        assertThrows(FormatException.class, () -> StateDicts.load(new byte[0], "empty.pth", LoadOptions.defaults()));
        GraftException missing = assertThrows(GraftException.class, () -> StateDicts.read(dir.resolve("nope.pth")));
        assertTrue(missing.getMessage().contains("cannot read") && missing.getMessage().contains("nope.pth"), missing.getMessage());
    }

    @Test
    void singleTensorFileIsNamedAfterTheFile() {
        byte[] pkl = new PickleWriter().proto(2).tensor("DoubleStorage", "0", 2, 0, new long[] {2}, new long[] {1}).op('.').bytes();
        byte[] zip = PickleWriter.zip("archive", pkl, Map.of("0", new byte[16]));
        StateDict sd = StateDicts.load(zip, "dir/weights.pth", LoadOptions.defaults()).stateDict();
        assertEquals(List.of("weights"), List.copyOf(sd.keys()));
        assertEquals(HostTensor.of(new double[2], Shape.of(2)), sd.get("weights"));
        assertEquals(List.of("f4"), List.copyOf(StateDicts.read(Fixtures.path("f4.npy")).keys()));
    }

    @Test
    void tensorSubclassRebuildIsUnwrapped() {
        // torch._tensor._rebuild_from_type_v2(_rebuild_tensor_v2, torch.Tensor, (storage, ...), {}) as torch writes for
        // tensors with Python attributes; the storage args are built like PickleWriter.tensor's
        PickleWriter w = new PickleWriter().proto(2).orderedDict().str("t")
                .global("torch._tensor", "_rebuild_from_type_v2").op('(')
                .global("torch._utils", "_rebuild_tensor_v2").global("torch._tensor", "Tensor").op('(')
                .op('(').str("storage").global("torch", "LongStorage").str("0").str("cpu").integer(1).op('t', 'Q')
                .integer(0).ints().ints().op(0x89).orderedDict().op('t')
                .op('}').op('t', 'R', 's', '.');
        byte[] zip = PickleWriter.zip("archive", w.bytes(), Map.of("0", new byte[] {5, 0, 0, 0, 0, 0, 0, 0}));
        assertEquals(HostTensor.of(new long[] {5}, Shape.scalar()), StateDicts.load(zip, "s.pth", LoadOptions.defaults()).stateDict().get("t"));
    }

    @Test
    void summaryOfSafetensorsKeepsMetadata() {
        StateDictSummary s = StateDicts.inspect(Fixtures.path("hand.safetensors"));
        assertEquals(Format.SAFETENSORS, s.format());
        assertEquals("hand made", s.metadata().get("note"));
        assertEquals(List.of("float16", "bfloat16", "float32", "float64", "int64", "int32", "uint8", "bool"),
                s.tensors().stream().map(TensorInfo::storedType).toList());
        assertEquals(2 + 2 + 4 + 1, s.floatingElementCount());
        assertEquals(2 + 2 + 4 + 1 + 1 + 2 + 3 + 2, s.elementCount());
    }

    @Test
    void keyPathOnlyAppliesToCheckpoints() {
        FormatException e = assertThrows(FormatException.class,
                () -> StateDicts.load(Fixtures.path("hand.safetensors"), LoadOptions.keyPath("model")));
        assertTrue(e.getMessage().contains("applies only to .pth"), e.getMessage());
    }

    @Test
    void writeChoosesTheFormatByExtension() {
        StateDict one = new StateDict().put("w", HostTensor.of(new float[] {1, 2}, Shape.of(2)));
        StateDicts.write(dir.resolve("w.npy"), one);
        assertEquals(one.get("w"), Npy.read(dir.resolve("w.npy")));
        StateDicts.write(dir.resolve("w.safetensors"), one);
        assertEquals(one.get("w"), SafeTensors.read(dir.resolve("w.safetensors")).get("w"));
        assertThrows(GraftException.class, () -> StateDicts.write(dir.resolve("w.pth"), one));
        assertThrows(FormatException.class, () -> Npy.read(dir.resolve("w.safetensors")));
    }

    @Test
    void knownPrefixesStripRepeatedlyButNeverArbitraryOnes() {
        StateDict sd = new StateDict().put("module.model.fc.weight", HostTensor.of(new float[1], Shape.of(1)))
                .put("module.model.fc.bias", HostTensor.of(new float[1], Shape.of(1)));
        assertEquals(List.of("fc.weight", "fc.bias"), List.copyOf(KeyPrefixes.stripKnown(sd).keys()));
        StateDict fc = KeyPrefixes.stripKnown(sd);
        assertEquals("", KeyPrefixes.detect(fc));
        assertFalse(KeyPrefixes.stripKnown(fc).keys().contains("weight"));
    }
}
