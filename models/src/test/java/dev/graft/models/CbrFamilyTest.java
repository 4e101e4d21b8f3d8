package dev.graft.models;

import dev.graft.engine.DType;
import dev.graft.engine.Device;
import dev.graft.engine.Grad;
import dev.graft.engine.Scope;
import dev.graft.engine.Shape;
import dev.graft.engine.StateDict;
import dev.graft.engine.Tensor;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Transfusion's CBR family on the registry: the spec's layers (Raghu et al. 2019, appendix), its PyTorch names, the
 * fused inference plan against the module forward pass, recognition from a state dict, freezing units and the
 * Grad-CAM layer. Parity with PyTorch itself is CbrParityTest (tests module).
 */
class CbrFamilyTest {
    /** The four named networks narrowed to small widths (same kernels, block counts and pools). */
    private static List<ResNetConfig> narrow() {
        List<ResNetConfig> out = new ArrayList<>();
        for (String name : List.of("cbr_tiny", "cbr_small", "cbr_large_t", "cbr_large_w")) {
            out.add(ResNetConfig.named(name, 3).withWidths(4, 8, 8, 16, 16));
        }
        return out;
    }

    @Test
    void declarationsFollowThePaper() {
        // kernel, channels, pool after each block: the table (from the paper's appendix)
        assertSpec("cbr_large_t", 7, new int[] {32, 64, 128, 256, 512}, new boolean[] {true, true, true, true, false});
        assertSpec("cbr_large_w", 7, new int[] {64, 128, 256, 512}, new boolean[] {true, true, true, true});
        assertSpec("cbr_small", 7, new int[] {32, 64, 128, 256}, new boolean[] {true, true, true, true});
        assertSpec("cbr_tiny", 5, new int[] {64, 128, 256, 512}, new boolean[] {true, true, true, true});
    }

    private static void assertSpec(String name, int kernel, int[] channels, boolean[] pools) {
        Topology t = ResNetConfig.named(name, 2).topology();
        List<Integer> out = new ArrayList<>();
        List<Boolean> pooled = new ArrayList<>();
        for (Topology.Layer l : t.layers()) {
            if (l instanceof Topology.ConvBn c) {
                assertEquals(kernel, c.kernel(), name);
                assertEquals(1, c.spec().strideH(), name + ": stride 1");
                assertEquals(kernel / 2, c.spec().padH(), name + ": padding 'same'");
                assertFalse(c.convBias(), name + ": no conv bias before batch norm");
                assertTrue(c.relu(), name);
                out.add(c.out());
                pooled.add(false);
            } else {
                Topology.Pool p = (Topology.Pool) l;
                assertEquals(dev.graft.engine.backend.Pool2dSpec.of(3, 2, 0), p.spec(), name);
                pooled.set(pooled.size() - 1, true);
            }
        }
        assertArrayEquals(channels, out.stream().mapToInt(Integer::intValue).toArray(), name);
        for (int i = 0; i < pools.length; i++) {
            assertEquals(pools[i], pooled.get(i), name + " pool after block " + i);
        }
    }

    /** PyTorch nn.Sequential names: conv, bn, relu, [pool] per block, counted through the Sequential. */
    @Test
    void stateDictKeysAreASequentialsNames() {
        try (ResNet m = ResNet.builder("cbr_large_t").numClasses(2).initialize(false).build()) {
            List<String> keys = new ArrayList<>(m.namedState().keySet());
            List<String> expected = new ArrayList<>();
            // block b's conv index: 0, 4, 8, 12 (conv bn relu pool), then 16 (no pool after the 4th block's... 5th)
            for (int i : new int[] {0, 4, 8, 12, 16}) {
                expected.add("features." + i + ".weight");
                for (String k : new String[] {"weight", "bias", "running_mean", "running_var", "num_batches_tracked"}) {
                    expected.add("features." + (i + 1) + "." + k);
                }
            }
            expected.add("fc.weight");
            expected.add("fc.bias");
            assertEquals(expected, keys);
            assertEquals(Shape.of(32, 3, 7, 7), m.namedState().get("features.0.weight").shape());
            assertEquals(Shape.of(2, 512), m.namedState().get("fc.weight").shape());
        }
    }

    /**
     * Plan (batch norm folded, relu fused) vs the module forward pass, F64 and F32, every named shape narrowed;
     * tolerances InferencePlanTest's (F32 4e-6: one float rounding of folded weights per layer; F64 2e-14), and the
     * plan compiled from host tensors equals the one compiled from the module tree.
     */
    @Test
    void fusedPlanEqualsModuleForward() {
        for (ResNetConfig config : narrow()) {
            for (DType dtype : new DType[] {DType.F64, DType.F32}) {
                try (Scope s = Scope.open(); ResNet m = InferencePlanTest.model(config, dtype, 5)) {
                    Tensor x = InferencePlanTest.images(2, 3, 40, 3, dtype);
                    double err = InferencePlanTest.maxRelativeDifference(InferencePlanTest.unfused(m, x), InferencePlanTest.fused(m, x));
                    double tol = dtype == DType.F64 ? 2e-14 : 4e-6;
                    System.out.printf("%s %s: fused vs unfused %.2e (tolerance %.0e)%n", config.architecture(), dtype, err, tol);
                    assertTrue(err <= tol, config + " " + dtype + ": " + err);
                }
            }
            try (Scope s = Scope.open(); ResNet m = InferencePlanTest.model(config, DType.F32, 9)) {
                StateDict state = m.stateDict();
                Map<String, Shape> own = new LinkedHashMap<>();
                state.tensors().forEach((k, v) -> own.put(k, v.shape()));
                assertEquals(own, InferencePlan.stateShapes(config), config + ": declared names and shapes");
                try (InferencePlan a = InferencePlan.compile(m); InferencePlan b = InferencePlan.compile(config, state::get, Device.REFERENCE)) {
                    assertEquals(a.describe(), b.describe());
                    Tensor x = InferencePlanTest.images(1, 3, 32, 8, DType.F32);
                    try (Grad.Mode g = Grad.off()) {
                        assertArrayEquals(a.forward(x).toFloatArray(), b.forward(x).toFloatArray());
                    }
                }
            }
        }
    }

    /** Each named network, and a custom one, is recognised from its state dict's keys and shapes alone. */
    @Test
    void recognisedFromAStateDict() {
        for (String name : List.of("cbr_tiny", "cbr_small", "cbr_large_t", "cbr_large_w")) {
            Map<String, Shape> shapes = InferencePlan.stateShapes(ResNetConfig.named(name, 2));
            ResNetConfig found = ArchitectureInference.infer(shapes);
            assertEquals(name, found.architecture());
            assertEquals(2, found.numClasses());
        }
        ResNetConfig custom = ResNetConfig.cbr(3, new int[] {8, 8}, new boolean[] {true, false}).withNumClasses(4).withInChannels(1);
        assertEquals(custom, ArchitectureInference.infer(InferencePlan.stateShapes(custom)));
        assertEquals(custom, ResNetConfig.parse(custom.describe()));
        Map<String, Shape> broken = new LinkedHashMap<>(InferencePlan.stateShapes(ResNetConfig.named("cbr_tiny", 2)));
        broken.put("features.4.weight", Shape.of(128, 32, 5, 5));
        ModelException e = assertThrows(ModelException.class, () -> ArchitectureInference.infer(broken));
        assertTrue(e.getMessage().contains("features.4.weight"), e.getMessage());
        // a tensor recognition itself does not read, checked against the declaration of the network it found
        Map<String, Shape> badStats = new LinkedHashMap<>(InferencePlan.stateShapes(ResNetConfig.named("cbr_tiny", 2)));
        badStats.put("features.5.running_var", Shape.of(64));
        e = assertThrows(ModelException.class, () -> ArchitectureInference.infer(badStats));
        assertTrue(e.getMessage().contains("features.5.running_var has shape [64] where that network has [128]"), e.getMessage());
    }

    /** Freezing units: each block's conv ({@code features.i}) then fc; {@code freezeUpTo} a block trains it and after. */
    @Test
    void freezingUnitsAreTheBlocks() {
        try (ResNet m = ResNet.builder(ResNetConfig.named("cbr_tiny", 2).withWidths(4, 4, 8, 8, 8)).build()) {
            Topology t = m.topology();
            assertEquals(List.of("features.0", "features.4", "features.8", "features.12", "fc"), t.unitNames());
            assertEquals(List.of("features.0", "features.1", "features.4", "features.5"), t.earlyModules());
            assertEquals(List.of("features.8", "features.9", "features.12", "features.13"), t.lateModules());
            m.freezeUpTo("features.8");
            m.namedParameters().forEach((n, p) -> assertEquals(!(n.startsWith("features.0.") || n.startsWith("features.1.")
                    || n.startsWith("features.4.") || n.startsWith("features.5.")), p.trainable(), n));
        }
    }

    /** Grad-CAM reads the last block's relu output (before its pool): 40 px -> 19 -> 9 -> 4, the 4th block at 4x4. */
    @Test
    void featureMapIsTheLastBlocksReluOutput() {
        try (Scope s = Scope.open(); ResNet m = InferencePlanTest.model(ResNetConfig.named("cbr_tiny", 3).withWidths(4, 4, 8, 8, 8), DType.F64, 2)) {
            Tensor x = InferencePlanTest.images(1, 3, 40, 4, DType.F64);
            m.eval();
            try (Grad.Mode g = Grad.off()) {
                Tensor fm = m.featureMap(x);
                assertEquals(Shape.of(1, 8, 4, 4), fm.shape());
                double[] logits = m.forward(x).toDoubleArray();
                m.setFusedInference(false);
                Tensor plain = m.featureMap(x);
                assertTrue(InferencePlanTest.maxRelativeDifference(plain.toDoubleArray(), fm.toDoubleArray()) <= 2e-14);
                assertTrue(InferencePlanTest.maxRelativeDifference(logits, m.head(plain).toDoubleArray()) <= 2e-14);
                for (double v : plain.toDoubleArray()) {
                    assertTrue(v >= 0, "a relu output");
                }
            }
        }
    }
}
