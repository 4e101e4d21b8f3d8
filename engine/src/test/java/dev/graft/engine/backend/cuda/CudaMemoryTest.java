package dev.graft.engine.backend.cuda;

import dev.graft.engine.DType;
import dev.graft.engine.Device;
import dev.graft.engine.Functional;
import dev.graft.engine.Layout;
import dev.graft.engine.Scope;
import dev.graft.engine.Shape;
import dev.graft.engine.Tensor;
import dev.graft.engine.backend.Conv2dSpec;
import dev.graft.engine.backend.Pool2dSpec;
import dev.graft.engine.backend.SgdSpec;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Device memory comes back: after scopes close, the allocator's in-use bytes return to where they started. */
@Tag("gpu")
class CudaMemoryTest {
    private CudaBackend gpu;

    @BeforeEach
    void device() {
        gpu = CudaTesting.cuda();
    }

    @Test
    void inUseReturnsToItsStartAfterRepeatedAllocAndFree() {
        AllocatorStats start = gpu.memoryStats();
        long mallocsAfterFirstRound = -1;
        for (int round = 0; round < 50; round++) {
            try (Scope s = Scope.open()) {
                for (int n : new int[] {1, 100, 4096, 300_000, 3_000_000}) {
                    gpu.empty(DType.F32, Shape.of(n), Layout.ROW_MAJOR);
                }
                assertTrue(gpu.memoryStats().inUse() > start.inUse());
            }
            assertEquals(start.inUse(), gpu.memoryStats().inUse(), "in use after round " + round);
            if (round == 0) {
                mallocsAfterFirstRound = gpu.memoryStats().deviceMallocs();
            }
        }
        assertEquals(mallocsAfterFirstRound, gpu.memoryStats().deviceMallocs(), "later rounds are served from the cache");
        System.out.println("allocator after 50 rounds: " + gpu.memoryStats());
    }

    /** conv-bn-relu-maxpool-avgpool-linear, forward, cross-entropy, backward, SGD with momentum: 100 steps. */
    @Test
    void aTrainingLoopDoesNotGrowDeviceMemory() {
        Device cuda = gpu.device();
        Random r = new Random(31);
        Scope model = Scope.detached("model");
        try {
            List<Tensor> params = new ArrayList<>();
            List<Tensor> momenta = new ArrayList<>();
            Tensor w1;
            Tensor gamma;
            Tensor beta;
            Tensor runMean;
            Tensor runVar;
            Tensor fc;
            Tensor fcBias;
            try (Scope.Entered in = model.enter()) {
                w1 = param(cuda, r, 8, 3, 3, 3);
                gamma = Tensor.full(cuda, DType.F32, 1, 8).requiresGrad(true);
                beta = Tensor.zeros(cuda, DType.F32, 8).requiresGrad(true);
                runMean = Tensor.zeros(cuda, DType.F32, 8);
                runVar = Tensor.full(cuda, DType.F32, 1, 8);
                fc = param(cuda, r, 4, 8);
                fcBias = Tensor.zeros(cuda, DType.F32, 4).requiresGrad(true);
                params.addAll(List.of(w1, gamma, beta, fc, fcBias));
                for (Tensor p : params) {
                    momenta.add(Tensor.zeros(cuda, DType.F32, p.shape().dims()));
                }
            }
            SgdSpec sgd = new SgdSpec(0.01, 0.9, 0, 1e-4, false);
            float[] input = CudaTesting.uniform(r, 6 * 3 * 16 * 16);
            int[] labels = {0, 1, 2, 3, 1, 2};
            long baseline = -1;
            long reservedAtStep5 = -1;
            double firstLoss = 0;
            double lastLoss = 0;
            for (int step = 0; step < 100; step++) {
                try (Scope s = Scope.open("step")) {
                    Tensor x = Tensor.fromArray(cuda, input, 6, 3, 16, 16);
                    Tensor y = Functional.conv2d(x, w1, null, Conv2dSpec.of(1, 1));
                    y = Functional.batchNorm2d(y, gamma, beta, runMean, runVar, true, 0.1, 1e-5).relu();
                    y = Functional.maxPool2d(y, Pool2dSpec.of(3, 2, 1));
                    y = Functional.adaptiveAvgPool2d(y, 1).flatten(1);
                    Tensor loss = Functional.crossEntropy(Functional.linear(y, fc, fcBias), labels);
                    loss.backward();
                    for (int i = 0; i < params.size(); i++) {
                        gpu.sgdUpdate(params.get(i).data(), params.get(i).gradArray(), momenta.get(i).data(), sgd, step == 0);
                        params.get(i).zeroGrad();
                    }
                    lastLoss = loss.item();
                    if (step == 0) {
                        firstLoss = lastLoss;
                    }
                }
                long inUse = gpu.memoryStats().inUse();
                if (step == 1) {
                    baseline = inUse;
                } else if (step > 1) {
                    assertEquals(baseline, inUse, "device memory in use after step " + step);
                }
                if (step == 5) {
                    reservedAtStep5 = gpu.memoryStats().reserved();
                } else if (step > 5) {
                    assertEquals(reservedAtStep5, gpu.memoryStats().reserved(), "reserved (in use + cached) after step " + step);
                }
            }
            assertTrue(lastLoss < firstLoss, "the loop should learn something: loss " + firstLoss + " -> " + lastLoss);
            System.out.println("training loop: loss " + firstLoss + " -> " + lastLoss + "; " + gpu.memoryStats());
        } finally {
            model.close();
        }
    }

    private static Tensor param(Device d, Random r, int... shape) {
        float[] v = CudaTesting.uniform(r, Shape.of(shape).numel());
        for (int i = 0; i < v.length; i++) {
            v[i] *= 0.5f;
        }
        return Tensor.fromArray(d, v, shape).requiresGrad(true);
    }
}
