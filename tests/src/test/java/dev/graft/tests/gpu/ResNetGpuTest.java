package dev.graft.tests.gpu;

import dev.graft.engine.Device;
import dev.graft.engine.Functional;
import dev.graft.engine.Scope;
import dev.graft.engine.StateDict;
import dev.graft.engine.Tensor;
import dev.graft.engine.backend.Backends;
import dev.graft.engine.backend.cuda.CudaBackend;
import dev.graft.models.Parameter;
import dev.graft.models.ResNet;
import dev.graft.models.ResNetConfig;
import dev.graft.models.optim.Sgd;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Whole networks on the GPU: ResNet-18 against the cpu backend, and device memory over 100 training steps. */
@Tag("gpu")
class ResNetGpuTest {

    /**
     * ResNet-18 in train mode (batch statistics), batch 4 at 64x64, 5 classes: logits, loss and every parameter
     * gradient on cuda (exact FP32 math) against the cpu backend with the same weights. Tolerance, per tensor, on
     * max|a - b| / max|b|: 1e-4 for logits and loss, 2e-3 for gradients, which pass through the whole backward
     * and through train-mode batch norm over as few as 4x2x2 values in layer4, amplifying F32 rounding (the cpu
     * backend itself agrees with torchvision's float64 reference to ~2e-6 here).
     */
    @Test
    void resnet18ForwardAndBackwardAgreeWithTheCpuBackend() {
        Device gpu = Gpu.require();
        Device other = Gpu.comparison();
        StateDict weights;
        try (ResNet init = ResNet.builder("resnet18").numClasses(5).seed(11).device(Device.REFERENCE).build()) {
            weights = init.stateDict();
        }
        float[] x = new float[4 * 3 * 64 * 64];
        Random r = new Random(5);
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        int[] labels = {0, 3, 1, 4};
        Map<String, float[]> a = run(gpu, weights, x, labels);
        Map<String, float[]> b = run(other, weights, x, labels);
        for (String k : b.keySet()) {
            double tol = k.startsWith("grad.") ? 2e-3 : 1e-4;
            double dev = deviation(a.get(k), b.get(k));
            assertTrue(dev <= tol, k + ": max relative deviation " + dev + " > " + tol + " (cuda vs " + other + ")");
        }
    }

    private static Map<String, float[]> run(Device d, StateDict weights, float[] x, int[] labels) {
        Map<String, float[]> out = new LinkedHashMap<>();
        try (ResNet m = ResNet.fromStateDict(weights, d); Scope s = Scope.open()) {
            m.train();
            Tensor logits = m.forward(Tensor.fromArray(d, x, 4, 3, 64, 64));
            Tensor loss = Functional.crossEntropy(logits, labels);
            loss.backward();
            out.put("logits", logits.toFloatArray());
            out.put("loss", new float[] {(float) loss.item()});
            for (Map.Entry<String, Parameter> e : m.namedParameters().entrySet()) {
                out.put("grad." + e.getKey(), e.getValue().grad().toFloatArray());
            }
        }
        return out;
    }

    private static double deviation(float[] a, float[] b) {
        double scale = 1e-12;
        double worst = 0;
        for (float v : b) {
            scale = Math.max(scale, Math.abs(v));
        }
        for (int i = 0; i < a.length; i++) {
            worst = Math.max(worst, Math.abs(a[i] - b[i]));
        }
        return worst / scale;
    }

    /** 100 SGD steps of a narrow ResNet on the GPU: after the first steps, bytes in use return to the same figure. */
    @Test
    void deviceMemoryDoesNotGrowOver100TrainingSteps() {
        Device gpu = Gpu.require();
        CudaBackend backend = (CudaBackend) Backends.get(gpu);
        ResNetConfig cfg = ResNetConfig.of(dev.graft.models.BlockType.BASIC, 1, 1, 1, 1).withWidths(16, 16, 32, 64, 128).withNumClasses(3);
        try (ResNet m = ResNet.builder(cfg).device(gpu).seed(2).build();
             Sgd opt = Sgd.builder(0.01).momentum(0.9).weightDecay(1e-4).build(m.parameters())) {
            Random r = new Random(9);
            long afterWarmup = -1;
            for (int step = 0; step < 100; step++) {
                try (Scope s = Scope.open("step")) {
                    float[] x = new float[8 * 3 * 32 * 32];
                    for (int i = 0; i < x.length; i++) {
                        x[i] = (float) r.nextGaussian();
                    }
                    int[] y = new int[8];
                    for (int i = 0; i < 8; i++) {
                        y[i] = r.nextInt(3);
                    }
                    Functional.crossEntropy(m.forward(Tensor.fromArray(gpu, x, 8, 3, 32, 32)), y).backward();
                    opt.step();
                    opt.zeroGrad();
                }
                if (step == 4) {
                    afterWarmup = backend.memoryStats().inUse();
                }
            }
            assertEquals(afterWarmup, backend.memoryStats().inUse(), "device bytes in use after step 5 and after step 100: "
                    + backend.memoryStats());
        }
    }

}
