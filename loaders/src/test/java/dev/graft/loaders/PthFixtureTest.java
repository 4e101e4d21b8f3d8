package dev.graft.loaders;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.graft.engine.StateDict;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Files written by real PyTorch 1.13 load exactly as torch.load reads them. */
class PthFixtureTest {
    @ParameterizedTest(name = "{0}")
    @CsvSource({
        "views.pth, views, PTH_ZIP",
        "views_bigendian.pth, views, PTH_ZIP",
        "views_legacy.pth, views, PTH_LEGACY",
        "resnet_tiny.pth, resnet_tiny, PTH_ZIP",
        "resnet_tiny_legacy.pth, resnet_tiny, PTH_LEGACY",
        "resnet_tiny_p4.pth, resnet_tiny, PTH_ZIP",
        "parameters.pth, parameters, PTH_ZIP",
        "tar_legacy.pth, tar_legacy, PTH_TAR",
    })
    void loadsExactly(String file, String expected, Format format) {
        LoadResult r = StateDicts.load(Fixtures.path(file), LoadOptions.defaults());
        assertEquals(format, r.format());
        assertEquals("", r.selectedKey());
        assertEquals(List.of(), r.skipped());
        Fixtures.assertMatches(expected, r.stateDict());
    }

    @Test
    void metadataAttributeIsNotATensor() {
        StateDict sd = StateDicts.read(Fixtures.path("resnet_tiny.pth"));
        assertTrue(sd.keys().stream().noneMatch(k -> k.contains("_metadata")));
        assertEquals(List.of(1L), java.util.Arrays.stream(sd.get("bn1.num_batches_tracked").longs()).boxed().toList());
        assertEquals(0, sd.get("bn1.num_batches_tracked").shape().rank());
    }

    @Test
    void wrappedCheckpointFindsStateDictAndReportsTheRest() {
        LoadResult r = StateDicts.load(Fixtures.path("checkpoint_wrapped.pth"), LoadOptions.defaults());
        assertEquals("state_dict", r.selectedKey());
        Fixtures.assertMatches("resnet_tiny", r.stateDict());
        assertEquals(List.of("epoch", "arch", "best_acc", "optimizer"),
                r.skipped().stream().map(SkippedEntry::key).collect(Collectors.toList()));
        assertTrue(r.skipped().get(0).reason().contains("3"), r.skipped().get(0).reason());
    }

    @Test
    void keyPathSelectsNestedDictWithIntegerKeys() {
        LoadResult r = StateDicts.load(Fixtures.path("checkpoint_wrapped.pth"), LoadOptions.parseKeyPath("optimizer/state/0"));
        assertEquals("optimizer/state/0", r.selectedKey());
        assertEquals(List.of("momentum_buffer"), List.copyOf(r.stateDict().keys()));
        assertEquals("[4, 3, 7, 7]", r.stateDict().get("momentum_buffer").shape().toString());
    }

    @Test
    void missingKeyPathSegmentIsATypedError() {
        FormatException e = assertThrows(FormatException.class,
                () -> StateDicts.load(Fixtures.path("checkpoint_wrapped.pth"), LoadOptions.keyPath("nope")));
        assertTrue(e.getMessage().contains("no key 'nope'") && e.getMessage().contains("state_dict"), e.getMessage());
    }

    @Test
    void dataParallelPrefixIsDetectedAndStripped() {
        StateDict sd = StateDicts.read(Fixtures.path("resnet_tiny_dataparallel.pth"));
        assertEquals("module.", KeyPrefixes.detect(sd));
        Fixtures.assertMatches("resnet_tiny", KeyPrefixes.stripKnown(sd));
        StateDict plain = StateDicts.read(Fixtures.path("resnet_tiny.pth"));
        assertEquals("", KeyPrefixes.detect(plain));
    }

    @Test
    void refusesForeignGlobalsWithoutRunningThem() {
        FormatException e = assertThrows(FormatException.class, () -> StateDicts.read(Fixtures.path("evil.pth")));
        assertTrue(e.getMessage().contains("'posix.system' is not allowed"), e.getMessage());
        assertTrue(e.offset() > 0 && e.getMessage().contains("evil.pth at byte " + e.offset()), e.getMessage());
    }

    @Test
    void inspectReportsStoredTypesWithoutConverting() {
        StateDictSummary s = StateDicts.inspect(Fixtures.path("views.pth"));
        assertEquals(Format.PTH_ZIP, s.format());
        TensorInfo bf16 = s.tensors().stream().filter(t -> t.name().equals("bf16")).findFirst().orElseThrow();
        assertEquals("bfloat16", bf16.storedType());
        assertEquals(6, bf16.numel());
        StateDictSummary resnet = StateDicts.inspect(Fixtures.path("checkpoint_wrapped.pth"));
        assertEquals("state_dict", resnet.selectedKey());
        long ints = resnet.tensors().stream().filter(t -> t.storedType().equals("int64")).mapToLong(TensorInfo::numel).sum();
        assertEquals(resnet.elementCount() - ints, resnet.floatingElementCount());
        assertEquals(StateDicts.read(Fixtures.path("resnet_tiny.pth")).floatingElements(), resnet.floatingElementCount());
    }
}
