package dev.graft.models;

import dev.graft.engine.Tensor;

import java.util.Map;
import java.util.SplittableRandom;
import java.util.random.RandomGenerator;

/**
 * torchvision's ResNet initialisation with a seeded Java generator (torch's random stream cannot be matched,
 * so parity tests load torch's initial weights instead): convolutions {@code kaiming_normal_(mode="fan_out",
 * nonlinearity="relu")}, i.e. N(0, 2 / (out_channels * k * k)); batch norm weight 1, bias 0; {@code fc} keeps
 * {@code nn.Linear}'s default, U(-1/sqrt(in), 1/sqrt(in)) for weight and bias; {@code zero_init_residual}
 * zeroes the last batch-norm weight of every block.
 */
public final class Init {
    private Init() {
    }

    /** Initialises every layer of {@code model} in key order from one generator seeded with {@code seed}. */
    public static void torchvision(ResNet model, long seed, boolean zeroInitResidual) {
        if (model.config().isSwin()) {
            SwinTransformer.initialize(model, seed);
            return;
        }
        if (model.config().isVit()) { // torchvision's ViT init; the head zeroed as torchvision zeroes it
            model.vitBody().initialize(new SplittableRandom(seed));
            fill(model.fc().weight().tensor(), 0);
            fill(model.fc().bias().tensor(), 0);
            return;
        }
        SplittableRandom rng = new SplittableRandom(seed);
        for (Module m : model.namedModules().values()) {
            if (m instanceof Conv2d c) {
                kaimingNormalFanOut(c, rng);
            } else if (m instanceof BatchNorm2d bn) {
                fill(bn.weight().tensor(), 1);
                fill(bn.bias().tensor(), 0);
            } else if (m instanceof Linear l) {
                linearDefault(l, rng);
            }
        }
        if (zeroInitResidual) {
            for (Module m : model.namedModules().values()) {
                if (m instanceof Bottleneck b) {
                    fill(b.lastBatchNorm().weight().tensor(), 0);
                } else if (m instanceof BasicBlock b) {
                    fill(b.lastBatchNorm().weight().tensor(), 0);
                }
            }
        }
    }

    /** torchvision's Inception3 init: weights of convolutions and linear layers N(0, 0.1) truncated to [-2, 2]. */
    public static final double INCEPTION_STD = 0.1;
    /** {@code AuxLogits.conv1.stddev} and {@code AuxLogits.fc.stddev}. */
    public static final double INCEPTION_AUX_CONV1_STD = 0.01;
    public static final double INCEPTION_AUX_FC_STD = 0.001;

    /**
     * As torchvision's {@code Inception3(init_weights=True)}: every convolution and linear weight
     * {@code trunc_normal_(std, a=-2, b=2)} with std 0.1 ({@code AuxLogits.conv1} 0.01, {@code AuxLogits.fc} 0.001),
     * batch norms 1 / 0, linear biases as {@code nn.Linear}'s default (torchvision leaves them).
     */
    public static void inception(ResNet model, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        for (Map.Entry<String, Module> e : model.namedModules().entrySet()) {
            Module m = e.getValue();
            double std = e.getKey().equals("AuxLogits.conv1.conv") ? INCEPTION_AUX_CONV1_STD
                    : e.getKey().equals("AuxLogits.fc") ? INCEPTION_AUX_FC_STD : INCEPTION_STD;
            if (m instanceof Conv2d c) {
                truncatedNormal(c.weight().tensor(), std, rng);
            } else if (m instanceof BatchNorm2d bn) {
                fill(bn.weight().tensor(), 1);
                fill(bn.bias().tensor(), 0);
            } else if (m instanceof Linear l) {
                truncatedNormal(l.weight().tensor(), std, rng);
                linearBias(l, rng);
            }
        }
    }

    /** N(0, std) redrawn outside [-2, 2] (torch's {@code trunc_normal_} bounds are absolute). */
    public static void truncatedNormal(Tensor t, double std, RandomGenerator rng) {
        float[] v = new float[t.numel()];
        for (int i = 0; i < v.length; i++) {
            double g;
            do {
                g = rng.nextGaussian() * std;
            } while (g < -2 || g > 2);
            v[i] = (float) g;
        }
        set(t, v);
    }

    /** {@code nn.Linear}'s default bias: U(-1/sqrt(in), 1/sqrt(in)). */
    public static void linearBias(Linear linear, RandomGenerator rng) {
        if (linear.bias() != null) {
            uniform(linear.bias().tensor(), 1.0 / Math.sqrt(linear.inFeatures()), rng);
        }
    }

    /** N(0, sqrt(2 / fan_out)), fan_out = out_channels * k * k (grouped or not, as torch computes it). */
    public static void kaimingNormalFanOut(Conv2d conv, RandomGenerator rng) {
        Tensor w = conv.weight().tensor();
        double std = Math.sqrt(2.0 / ((double) conv.outChannels() * conv.kernelSize() * conv.kernelW()));
        float[] v = new float[w.numel()];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) (rng.nextGaussian() * std);
        }
        set(w, v);
    }

    /** {@code nn.Linear.reset_parameters}: kaiming_uniform(a=sqrt(5)) is U(-b, b) with b = 1/sqrt(in); bias the same. */
    public static void linearDefault(Linear linear, RandomGenerator rng) {
        double bound = 1.0 / Math.sqrt(linear.inFeatures());
        uniform(linear.weight().tensor(), bound, rng);
        if (linear.bias() != null) {
            uniform(linear.bias().tensor(), bound, rng);
        }
    }

    private static void uniform(Tensor t, double bound, RandomGenerator rng) {
        float[] v = new float[t.numel()];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) rng.nextDouble(-bound, bound);
        }
        set(t, v);
    }

    private static void fill(Tensor t, double value) {
        t.data().backend().fill(t.data(), value);
    }

    private static void set(Tensor t, float[] values) {
        t.data().backend().copyFromHost(t.data(), values);
    }
}
