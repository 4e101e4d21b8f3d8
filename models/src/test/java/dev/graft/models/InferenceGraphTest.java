package dev.graft.models;

import dev.graft.engine.Device;
import dev.graft.engine.HostTensor;
import dev.graft.engine.Shape;
import dev.graft.engine.StateDict;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link InferencePlan#graph()}: the wiring of a basic-block network written out by hand from torchvision's
 * {@code BasicBlock.forward}, and folded weights recomputed here in double from the state dict
 * ({@code w * g / sqrt(v + 1e-5)}, {@code beta - mean * g / sqrt(v + 1e-5)}) and rounded to float once, which the
 * graph must hold exactly (the plan folds the same way; a different order of operations would differ by an ulp,
 * so the comparison allows 1 ulp of float).
 */
class InferenceGraphTest {
    @Test
    void basicNetworkWiringAndFoldedWeights() {
        ResNetConfig config = TinyModels.basic();
        StateDict sd = randomState(config, 21);
        InferenceGraph g;
        try (InferencePlan plan = InferencePlan.compile(config, sd::get, Device.REFERENCE)) {
            g = plan.graph();
        }
        // conv1+bn1 relu, maxpool, 4 blocks (layer2-4 with a downsample: 3 convs; layer1 without: 2), avgpool, fc.
        List<String> expected = List.of("v1 conv1 v0 relu", "v2 maxpool v1",
                "v3 layer1.0.conv1 v2 relu", "v4 layer1.0.conv2 v3 +v2 relu",
                "v5 layer2.0.downsample.0 v4", "v6 layer2.0.conv1 v4 relu", "v7 layer2.0.conv2 v6 +v5 relu",
                "v8 layer3.0.downsample.0 v7", "v9 layer3.0.conv1 v7 relu", "v10 layer3.0.conv2 v9 +v8 relu",
                "v11 layer4.0.downsample.0 v10", "v12 layer4.0.conv1 v10 relu", "v13 layer4.0.conv2 v12 +v11 relu",
                "v14 avgpool v13", "v15 fc v14");
        List<String> actual = new ArrayList<>();
        for (InferenceGraph.Node n : g.nodes()) {
            if (n instanceof InferenceGraph.Convolution c) {
                actual.add("v" + c.out() + " " + c.name() + " v" + c.in() + (c.residual() >= 0 ? " +v" + c.residual() : "")
                        + (c.relu() ? " relu" : ""));
            } else if (n instanceof InferenceGraph.MaxPool p) {
                actual.add("v" + p.out() + " maxpool v" + p.in());
            } else {
                actual.add("v" + n.out() + " avgpool v" + ((InferenceGraph.GlobalAveragePool) n).in());
            }
        }
        assertEquals(expected, actual);
        assertEquals(3, g.inChannels());
        assertEquals(14, g.features());
        assertEquals(15, g.logits());

        for (InferenceGraph.Node n : g.nodes()) {
            if (!(n instanceof InferenceGraph.Convolution c)) {
                continue;
            }
            float[] w = sd.get(c.name() + ".weight").floats();
            if (c.batchNorm() == null) {
                assertEquals("fc", c.name());
                assertEquals(Shape.of(3, 16, 1, 1), c.weight().shape());
                assertClose(w, c.weight().floats(), c.name());
                assertClose(sd.get("fc.bias").floats(), c.bias().floats(), c.name());
                continue;
            }
            String bn = c.batchNorm();
            assertTrue(bn.equals(c.name().replace("conv", "bn")) || bn.equals(c.name().replace("downsample.0", "downsample.1")), bn);
            float[] gamma = sd.get(bn + ".weight").floats();
            float[] beta = sd.get(bn + ".bias").floats();
            float[] mean = sd.get(bn + ".running_mean").floats();
            float[] var = sd.get(bn + ".running_var").floats();
            int k = gamma.length;
            int per = w.length / k;
            float[] wf = new float[w.length];
            float[] bf = new float[k];
            for (int o = 0; o < k; o++) {
                double s = gamma[o] / Math.sqrt(var[o] + 1e-5);
                for (int i = 0; i < per; i++) {
                    wf[o * per + i] = (float) (w[o * per + i] * s);
                }
                bf[o] = (float) (beta[o] - mean[o] * s);
            }
            assertEquals(sd.get(c.name() + ".weight").shape(), c.weight().shape());
            assertClose(wf, c.weight().floats(), c.name());
            assertClose(bf, c.bias().floats(), c.name());
        }
        assertInstanceOf(InferenceGraph.MaxPool.class, g.nodes().get(1));
        assertNull(((InferenceGraph.Convolution) g.nodes().get(g.nodes().size() - 1)).batchNorm());
    }

    private static void assertClose(float[] expected, float[] actual, String what) {
        assertEquals(expected.length, actual.length, what);
        for (int i = 0; i < expected.length; i++) {
            assertTrue(Math.abs(expected[i] - actual[i]) <= Math.ulp(expected[i]), what + "[" + i + "]: " + expected[i] + " vs " + actual[i]);
        }
    }

    /** Random weights and batch-norm statistics far from the identity, for every tensor {@code config} has. */
    private static StateDict randomState(ResNetConfig config, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        StateDict sd = new StateDict();
        for (Map.Entry<String, Shape> e : InferencePlan.stateShapes(config).entrySet()) {
            String k = e.getKey();
            Shape s = e.getValue();
            if (k.endsWith("num_batches_tracked")) {
                sd.put(k, HostTensor.of(new long[] {1}, s));
                continue;
            }
            float[] v = new float[s.numel()];
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) (k.endsWith("running_var") ? 0.5 + r.nextDouble() : r.nextGaussian());
            }
            sd.put(k, HostTensor.of(v, s));
        }
        return sd;
    }
}
