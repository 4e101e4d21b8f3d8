package dev.graft.models;

import dev.graft.engine.Device;
import dev.graft.engine.HostTensor;
import dev.graft.engine.Shape;
import dev.graft.engine.StateDict;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class StateLoadingTest {

    @Test
    void stateDictRoundTripsExactlyIntoAFreshModel() {
        try (ResNet a = TinyModels.build(TinyModels.bottleneck(), 1); ResNet b = TinyModels.build(TinyModels.bottleneck(), 2)) {
            StateDict sa = a.stateDict();
            assertNotEquals(sa.get("conv1.weight"), b.stateDict().get("conv1.weight"));
            LoadReport r = b.load(sa, true);
            assertTrue(r.isComplete(), r.toString());
            assertEquals(sa.size(), r.loaded().size());
            StateDict sb = b.stateDict();
            assertEquals(List.copyOf(sa.keys()), List.copyOf(sb.keys()));
            sa.tensors().forEach((k, v) -> assertEquals(v, sb.get(k), k));
        }
    }

    @Test
    void nonStrictLoadSkipsAThousandClassHeadAndReportsIt() {
        try (ResNet pretrained = TinyModels.build(TinyModels.basic().withNumClasses(1000), 1);
             ResNet target = TinyModels.build(TinyModels.basic().withNumClasses(2), 2)) {
            HostTensor headBefore = target.stateDict().get("fc.weight");
            LoadReport r = target.load(pretrained.stateDict(), false);
            assertEquals(List.of("fc.weight", "fc.bias"), r.shapeMismatches().stream().map(LoadReport.ShapeMismatch::key).toList());
            assertEquals(List.of(2, 16), r.shapeMismatches().get(0).modelShape());
            assertEquals(List.of(1000, 16), r.shapeMismatches().get(0).fileShape());
            assertTrue(r.missing().isEmpty() && r.unexpected().isEmpty());
            assertEquals(headBefore, target.stateDict().get("fc.weight"));
            assertEquals(pretrained.stateDict().get("layer4.0.conv2.weight"), target.stateDict().get("layer4.0.conv2.weight"));

            StateDictMismatchException e = assertThrows(StateDictMismatchException.class,
                    () -> target.load(pretrained.stateDict(), true));
            assertTrue(e.getMessage().contains("fc.weight (model [2, 16], file [1000, 16])"), e.getMessage());
            assertEquals(2, e.report().shapeMismatches().size());
        }
    }

    @Test
    void strictLoadThatFailsWritesNothing() {
        try (ResNet a = TinyModels.build(TinyModels.basic(), 1); ResNet b = TinyModels.build(TinyModels.basic(), 2)) {
            StateDict s = a.stateDict();
            s.remove("layer1.0.conv1.weight");
            s.put("extra.weight", HostTensor.of(new float[] {1}, Shape.of(1)));
            HostTensor before = b.stateDict().get("conv1.weight");
            StateDictMismatchException e = assertThrows(StateDictMismatchException.class, () -> b.load(s, true));
            assertEquals(List.of("layer1.0.conv1.weight"), e.report().missing());
            assertEquals(List.of("extra.weight"), e.report().unexpected());
            assertEquals(before, b.stateDict().get("conv1.weight"));
        }
    }

    @Test
    void wrapperPrefixesAreStrippedOnlyWhenEveryKeyHasThem() {
        try (ResNet a = TinyModels.build(TinyModels.basic(), 1); ResNet b = TinyModels.build(TinyModels.basic(), 2)) {
            StateDict wrapped = new StateDict();
            a.stateDict().tensors().forEach((k, v) -> wrapped.put("module.model." + k, v));
            LoadReport r = b.load(wrapped, true);
            assertEquals("module.model.", r.strippedPrefix());
            assertEquals(a.stateDict().get("fc.bias"), b.stateDict().get("fc.bias"));

            StateDict partly = new StateDict();
            a.stateDict().tensors().forEach((k, v) -> partly.put(k.startsWith("fc") ? "module." + k : k, v));
            LoadReport p = b.load(partly, false);
            assertEquals("", p.strippedPrefix());
            assertEquals(List.of("fc.weight", "fc.bias"), p.missing());
            assertEquals(List.of("module.fc.weight", "module.fc.bias"), p.unexpected());
        }
    }

    @Test
    void missingNumBatchesTrackedLoadsAsZeroLikeOldTorchvisionCheckpoints() {
        try (ResNet a = TinyModels.build(TinyModels.basic(), 1); ResNet b = TinyModels.build(TinyModels.basic(), 2)) {
            StateDict s = a.stateDict();
            List.copyOf(s.keys()).stream().filter(k -> k.endsWith("num_batches_tracked")).forEach(s::remove);
            s.put("bn1.running_var", HostTensor.of(new double[] {1, 2, 3, 4}, Shape.of(4)));
            LoadReport r = b.load(s, true);
            assertTrue(r.isComplete());
            assertEquals(a.namedModules().values().stream().filter(m -> m instanceof BatchNorm2d).count(), r.defaulted().size());
            assertArrayEquals(new long[] {0}, b.stateDict().get("bn1.num_batches_tracked").longs());
            assertArrayEquals(new float[] {1, 2, 3, 4}, b.stateDict().get("bn1.running_var").floats());
        }
    }

    @Test
    void integerBuffersAcceptIntegralFloatsFromRawFiles() {
        try (ResNet b = TinyModels.build(TinyModels.basic(), 2)) {
            StateDict s = b.stateDict();
            s.put("bn1.num_batches_tracked", HostTensor.of(new float[] {7}, Shape.scalar()));
            b.load(s, true);
            assertEquals(7, ((BatchNorm2d) b.module("bn1")).numBatchesTracked());
            s.put("bn1.num_batches_tracked", HostTensor.of(new float[] {7.5f}, Shape.scalar()));
            assertThrows(ModelException.class, () -> b.load(s, true));
        }
    }

    @Test
    void fromStateDictInfersTheArchitectureAndRestoresThePolicy() {
        try (ResNet a = TinyModels.build(TinyModels.bottleneck(), 3)) {
            a.setBatchNormPolicy(BatchNormPolicy.HOLD);
            StateDict s = a.stateDict();
            assertEquals("hold", s.metadata().get(ResNet.META_BATCHNORM_POLICY));
            assertEquals("custom", s.metadata().get(ResNet.META_ARCHITECTURE));
            try (ResNet fromMeta = ResNet.fromStateDict(s, Device.REFERENCE)) {
                assertEquals(a.config(), fromMeta.config());
                assertEquals(BatchNormPolicy.HOLD, fromMeta.batchNormPolicy());
            }
            s.metadata().clear();
            try (ResNet inferred = ResNet.fromStateDict(s, Device.REFERENCE)) {
                assertEquals(a.config(), inferred.config());
                assertEquals(BatchNormPolicy.TRACK, inferred.batchNormPolicy());
                assertEquals(s.get("layer1.1.conv3.weight"), inferred.stateDict().get("layer1.1.conv3.weight"));
            }
        }
    }

    @Test
    void inferenceRejectsWhatIsNotAResNet() {
        StateDict s = new StateDict().put("features.0.weight", HostTensor.of(new float[4], Shape.of(1, 1, 2, 2)));
        ModelException e = assertThrows(ModelException.class, () -> ResNet.fromStateDict(s, Device.REFERENCE));
        assertTrue(e.getMessage().contains("conv1.weight"), e.getMessage());
    }
}
