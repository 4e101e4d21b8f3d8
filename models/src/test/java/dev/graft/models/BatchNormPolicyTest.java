package dev.graft.models;

import dev.graft.engine.Functional;
import dev.graft.engine.HostTensor;
import dev.graft.engine.Scope;
import dev.graft.engine.StateDict;
import dev.graft.engine.Tensor;
import dev.graft.models.optim.ParamGroups;
import dev.graft.models.optim.Sgd;
import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A frozen-backbone phase as the two-phase recipe runs it: load weights (with non-trivial running statistics
 * and counters), freeze the backbone, train() the model, take several SGD steps (momentum 0.9, weight decay
 * 1e-4) on the head, then compare every tensor with what was loaded.
 */
class BatchNormPolicyTest {
    private static final int STEPS = 4;

    /** A state dict whose running statistics and counters are not the defaults, so holding them is visible. */
    private static StateDict pretrained() {
        try (ResNet m = TinyModels.build(TinyModels.basic(), 11)) {
            StateDict s = m.stateDict();
            SplittableRandom r = new SplittableRandom(5);
            for (String k : s.keys().stream().toList()) {
                HostTensor t = s.get(k);
                if (k.endsWith("running_mean") || k.endsWith("running_var")) {
                    float[] v = new float[t.shape().numel()];
                    for (int i = 0; i < v.length; i++) {
                        v[i] = k.endsWith("var") ? (float) r.nextDouble(0.5, 2) : (float) r.nextGaussian() * 0.1f;
                    }
                    s.put(k, HostTensor.of(v, t.shape()));
                } else if (k.endsWith("num_batches_tracked")) {
                    s.put(k, HostTensor.of(new long[] {42}, t.shape()));
                }
            }
            return s;
        }
    }

    /** Loads, freezes all but fc under {@code policy}, trains {@link #STEPS} steps; returns the final state. */
    private static StateDict headPhase(BatchNormPolicy policy, StateDict loaded) {
        try (ResNet m = TinyModels.build(TinyModels.basic(), 1)) {
            m.load(loaded, true);
            m.setBatchNormPolicy(policy).freeze().unfreeze("fc");
            m.eval();
            m.train(); // a later train() must not undo HOLD
            try (Sgd sgd = Sgd.builder(0.05).momentum(0.9).weightDecay(1e-4).build(ParamGroups.all(m))) {
                for (int step = 0; step < STEPS; step++) {
                    try (Scope s = Scope.open()) {
                        Tensor loss = Functional.crossEntropy(m.forward(TinyModels.images(4, 3, 32, 100 + step)), new int[] {0, 1, 2, 1});
                        loss.backward();
                        sgd.step();
                        sgd.zeroGrad();
                    }
                }
                assertEquals(policy == BatchNormPolicy.AFFINE ? m.trainableParameters().size() : 2, sgd.stateCount(),
                        "state only for trainable parameters");
            }
            return m.stateDict();
        }
    }

    @Test
    void holdKeepsEveryFrozenTensorBitIdentical() {
        StateDict loaded = pretrained();
        StateDict after = headPhase(BatchNormPolicy.HOLD, loaded);
        for (String k : loaded.keys()) {
            if (k.startsWith("fc.")) {
                assertNotEquals(loaded.get(k), after.get(k), k + " should have trained");
            } else {
                assertEquals(loaded.get(k), after.get(k), k + " changed under HOLD");
            }
        }
        assertArrayEquals(new long[] {42}, after.get("layer3.0.bn2.num_batches_tracked").longs());
    }

    @Test
    void trackUpdatesFrozenStatisticsAsPyTorchDoes() {
        StateDict loaded = pretrained();
        StateDict after = headPhase(BatchNormPolicy.TRACK, loaded);
        assertEquals(loaded.get("layer1.0.conv1.weight"), after.get("layer1.0.conv1.weight"));
        assertEquals(loaded.get("layer1.0.bn1.weight"), after.get("layer1.0.bn1.weight"));
        assertNotEquals(loaded.get("layer1.0.bn1.running_mean"), after.get("layer1.0.bn1.running_mean"));
        assertArrayEquals(new long[] {42 + STEPS}, after.get("layer1.0.bn1.num_batches_tracked").longs());
    }

    @Test
    void affineTrainsGammaAndBetaButHoldsStatistics() {
        StateDict loaded = pretrained();
        StateDict after = headPhase(BatchNormPolicy.AFFINE, loaded);
        assertEquals(loaded.get("layer2.0.conv2.weight"), after.get("layer2.0.conv2.weight"));
        assertNotEquals(loaded.get("layer2.0.bn2.weight"), after.get("layer2.0.bn2.weight"));
        assertNotEquals(loaded.get("layer2.0.bn2.bias"), after.get("layer2.0.bn2.bias"));
        assertEquals(loaded.get("layer2.0.bn2.running_var"), after.get("layer2.0.bn2.running_var"));
        assertEquals(loaded.get("layer2.0.bn2.num_batches_tracked"), after.get("layer2.0.bn2.num_batches_tracked"));
    }

    @Test
    void heldLayersComputeExactlyWhatEvalModeComputes() {
        try (ResNet m = TinyModels.build(TinyModels.basic(), 1); Scope s = Scope.open()) {
            m.load(pretrained(), true);
            Tensor x = TinyModels.images(2, 3, 32, 8);
            float[] eval = m.eval().forward(x).toFloatArray();
            m.setBatchNormPolicy(BatchNormPolicy.HOLD).freeze().train();
            assertArrayEquals(eval, m.forward(x).toFloatArray());
            assertFalse(((BatchNorm2d) m.module("bn1")).usesBatchStatistics());
            m.unfreeze("layer1");
            assertTrue(((BatchNorm2d) m.module("layer1.0.bn1")).usesBatchStatistics());
            assertFalse(((BatchNorm2d) m.module("bn1")).usesBatchStatistics());
        }
    }

    @Test
    void unfrozenBatchNormFollowsPyTorchRunningStatistics() {
        // running = (1 - 0.1) running + 0.1 batch, with the unbiased batch variance; counter + 1.
        try (Scope s = Scope.open()) {
            BatchNorm2d bn = new BatchNorm2d(2, dev.graft.engine.Device.REFERENCE, dev.graft.engine.DType.F64);
            double[] x = {1, 2, 3, 4, -1, 0, 5, 2};
            bn.forward(Tensor.fromArray(dev.graft.engine.Device.REFERENCE, dev.graft.engine.DType.F64, x, 2, 2, 1, 2));
            // channel 0 values 1,2,-1,0: mean 0.5, unbiased var 5/3; channel 1 values 3,4,5,2: mean 3.5, var 5/3
            assertArrayEquals(new double[] {0.05, 0.35}, bn.runningMean().toDoubleArray(), 1e-15);
            assertArrayEquals(new double[] {0.9 + 0.5 / 3, 0.9 + 0.5 / 3}, bn.runningVar().toDoubleArray(), 1e-15);
            assertEquals(1, bn.numBatchesTracked());
            bn.eval().forward(Tensor.fromArray(dev.graft.engine.Device.REFERENCE, dev.graft.engine.DType.F64, x, 2, 2, 1, 2));
            assertEquals(1, bn.numBatchesTracked());
        }
    }
}
