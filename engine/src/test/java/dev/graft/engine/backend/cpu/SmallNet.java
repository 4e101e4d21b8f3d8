package dev.graft.engine.backend.cpu;

import dev.graft.engine.Device;
import dev.graft.engine.Functional;
import dev.graft.engine.Tensor;
import dev.graft.engine.backend.Conv2dSpec;
import dev.graft.engine.backend.Pool2dSpec;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * conv(3x3, bias) - batch norm - relu - max pool(3, 2, 1) - global average pool - linear - cross-entropy with
 * class weights and label smoothing: every kind of kernel a ResNet training step runs, on a small input.
 * Parameters are leaves that require gradients; the input requires one too, so backward-data runs.
 */
final class SmallNet {
    static final int N = 2;
    static final int C = 3;
    static final int HW = 8;
    static final int K = 4;
    static final int CLASSES = 3;
    static final int[] LABELS = {2, 0};
    static final float[] CLASS_WEIGHTS = {0.5f, 1.0f, 2.0f};

    final Map<String, Tensor> params = new LinkedHashMap<>();
    final Tensor runningMean;
    final Tensor runningVar;

    /** Parameters and statistics on {@code device} from fixed seeds (the same values on every device). */
    SmallNet(Device device, long seed, int hw) {
        param(device, "input", Oracle.random(N * C * hw * hw, seed), N, C, hw, hw);
        param(device, "conv.weight", scaled(Oracle.random(K * C * 9, seed + 1), 0.4f), K, C, 3, 3);
        param(device, "conv.bias", Oracle.random(K, seed + 2), K);
        param(device, "bn.weight", shifted(Oracle.random(K, seed + 3)), K);
        param(device, "bn.bias", Oracle.random(K, seed + 4), K);
        param(device, "fc.weight", Oracle.random(CLASSES * K, seed + 5), CLASSES, K);
        param(device, "fc.bias", Oracle.random(CLASSES, seed + 6), CLASSES);
        runningMean = Tensor.fromArray(device, scaled(Oracle.random(K, seed + 7), 0.1f), K);
        runningVar = Tensor.fromArray(device, shifted(Oracle.random(K, seed + 8)), K);
    }

    SmallNet(Device device, long seed) {
        this(device, seed, HW);
    }

    private void param(Device device, String name, float[] v, int... shape) {
        params.put(name, Tensor.fromArray(device, v, shape).requiresGrad(true));
    }

    /** The mean loss; in training mode batch norm uses (and updates) batch statistics, else the running ones. */
    Tensor loss(boolean training) {
        Tensor x = params.get("input");
        Tensor y = Functional.conv2d(x, params.get("conv.weight"), params.get("conv.bias"), Conv2dSpec.of(1, 1));
        y = Functional.batchNorm2d(y, params.get("bn.weight"), params.get("bn.bias"), runningMean, runningVar, training, 0.1, 1e-5);
        y = Functional.relu(y);
        y = Functional.maxPool2d(y, Pool2dSpec.of(3, 2, 1));
        y = Functional.adaptiveAvgPool2d(y, 1).flatten(1);
        y = Functional.linear(y, params.get("fc.weight"), params.get("fc.bias"));
        return Functional.crossEntropy(y, LABELS, CLASS_WEIGHTS, 0.1);
    }

    private static float[] scaled(float[] v, float s) {
        for (int i = 0; i < v.length; i++) {
            v[i] *= s;
        }
        return v;
    }

    private static float[] shifted(float[] v) {
        for (int i = 0; i < v.length; i++) {
            v[i] = 1 + 0.5f * v[i];
        }
        return v;
    }
}
