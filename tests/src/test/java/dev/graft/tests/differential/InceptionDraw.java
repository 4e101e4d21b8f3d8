package dev.graft.tests.differential;

import dev.graft.engine.DType;
import dev.graft.engine.Device;
import dev.graft.engine.Functional;
import dev.graft.engine.Grad;
import dev.graft.engine.HostTensor;
import dev.graft.engine.Scope;
import dev.graft.engine.Shape;
import dev.graft.engine.StateDict;
import dev.graft.engine.Tensor;
import dev.graft.engine.backend.AvgPool2dSpec;
import dev.graft.engine.backend.Conv2dSpec;
import dev.graft.engine.backend.Pool2dSpec;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/**
 * A differential draw with an Inception-style block, written with Functional ops (the InceptionV3 model is not built
 * yet): a stem (3x3 conv, batch norm, relu, 3x3/2 max pool), then three parallel branches on the stem's output, each
 * conv -> batch norm (eps 0.001, as torchvision's BasicConv2d) -> relu: {@code branch1x1} (1x1), {@code branch7x7_1..3}
 * (1x1, 1x7 padding (0, 3), 7x1 padding (3, 0)) and {@code branch_pool} (3x3 average pool stride 1 padding 1, either
 * count_include_pad, then 1x1); the branches concatenated on channels, global average pooling and a linear layer.
 * Everything trains, in train or eval mode. Weights are drawn as {@link NetworkCase} draws them (kaiming normal convs,
 * batch-norm state of a fine-tuned checkpoint), every value a float.
 */
record InceptionDraw(int batch, int height, int width, int stem, int c1, int c7, int c7out, int cpool, int classes,
                     boolean countIncludePad, boolean train, long seed) implements DifferentialDraw {
    private static final double BN_EPS = 1e-3;
    private static final double MOMENTUM = 0.1;

    @Override
    public String toString() {
        return String.format("inception block stem=%d branches 1x1 %d, 1x7/7x1 %d->%d, pool %d (count_include_pad %s), classes=%d,"
                        + " batch %d x %dx%d, %s, seed %d", stem, c1, c7, c7out, cpool, countIncludePad, classes, batch, height, width,
                train ? "train" : "eval", seed);
    }

    private Map<String, Shape> shapes() {
        Map<String, Shape> s = new LinkedHashMap<>();
        conv(s, "stem", stem, 3, 3, 3);
        conv(s, "block.branch1x1", c1, stem, 1, 1);
        conv(s, "block.branch7x7_1", c7, stem, 1, 1);
        conv(s, "block.branch7x7_2", c7, c7, 1, 7);
        conv(s, "block.branch7x7_3", c7out, c7, 7, 1);
        conv(s, "block.branch_pool", cpool, stem, 1, 1);
        s.put("fc.weight", Shape.of(classes, c1 + c7out + cpool));
        s.put("fc.bias", Shape.of(classes));
        return s;
    }

    private static void conv(Map<String, Shape> s, String name, int out, int in, int kh, int kw) {
        s.put(name + ".conv.weight", Shape.of(out, in, kh, kw));
        for (String v : new String[] {"weight", "bias", "running_mean", "running_var"}) {
            s.put(name + ".bn." + v, Shape.of(out));
        }
    }

    @Override
    public StateDict weights() {
        Random r = new Random(seed);
        StateDict sd = new StateDict();
        for (Map.Entry<String, Shape> e : shapes().entrySet()) {
            String k = e.getKey();
            Shape s = e.getValue();
            float[] v = new float[s.numel()];
            int fanIn = s.rank() > 1 ? s.numel() / s.dim(0) : 1;
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) (k.endsWith("running_var") || k.endsWith("bn.weight") ? 0.5 + r.nextDouble()
                        : k.endsWith("running_mean") || k.endsWith("bn.bias") ? 0.1 * r.nextGaussian()
                        : k.startsWith("fc.") ? (2 * r.nextDouble() - 1) / Math.sqrt(fanIn)
                        : r.nextGaussian() * Math.sqrt(2.0 / fanIn));
            }
            sd.put(k, HostTensor.of(v, s));
        }
        return sd;
    }

    private float[] images() {
        Random r = new Random(seed + 1);
        float[] x = new float[batch * 3 * height * width];
        for (int i = 0; i < x.length; i++) {
            x[i] = (float) r.nextGaussian();
        }
        return x;
    }

    private int[] labels() {
        Random r = new Random(seed + 2);
        int[] y = new int[batch];
        for (int i = 0; i < batch; i++) {
            y[i] = r.nextInt(classes);
        }
        return y;
    }

    @Override
    public Result run(Device device, DType dtype, StateDict weights) {
        Map<String, double[]> out = new LinkedHashMap<>();
        try (Scope scope = Scope.open("differential")) {
            Map<String, Tensor> p = new LinkedHashMap<>();
            for (String k : weights.keys()) {
                HostTensor h = weights.get(k);
                float[] f = h.floats();
                double[] d = new double[f.length];
                for (int i = 0; i < f.length; i++) {
                    d[i] = f[i];
                }
                p.put(k, Tensor.fromArray(device, dtype, d, h.shape().dims()).requiresGrad(!k.contains("running_")));
            }
            float[] f = images();
            double[] x = new double[f.length];
            for (int i = 0; i < f.length; i++) {
                x[i] = f[i];
            }
            Tensor images = Tensor.fromArray(device, dtype, x, batch, 3, height, width);
            Tensor logits;
            try (Grad.Mode g = Grad.on()) {
                Tensor s = Functional.maxPool2d(basic(p, "stem", images, Conv2dSpec.of(1, 1)), Pool2dSpec.of(3, 2, 1));
                Tensor b1 = basic(p, "block.branch1x1", s, Conv2dSpec.of(1, 0));
                Tensor b7 = basic(p, "block.branch7x7_1", s, Conv2dSpec.of(1, 0));
                b7 = basic(p, "block.branch7x7_2", b7, new Conv2dSpec(1, 1, 0, 3, 1, 1, 1));
                b7 = basic(p, "block.branch7x7_3", b7, new Conv2dSpec(1, 1, 3, 0, 1, 1, 1));
                Tensor bp = basic(p, "block.branch_pool",
                        Functional.avgPool2d(s, new AvgPool2dSpec(3, 3, 1, 1, 1, 1, countIncludePad)), Conv2dSpec.of(1, 0));
                Tensor features = Functional.flatten(Functional.adaptiveAvgPool2d(Functional.concatChannels(b1, b7, bp), 1), 1);
                logits = Functional.linear(features, p.get("fc.weight"), p.get("fc.bias"));
            }
            out.put("logits", logits.toDoubleArray());
            Tensor loss = Functional.crossEntropy(logits, labels());
            out.put("loss", loss.toDoubleArray());
            loss.backward();
            for (Map.Entry<String, Tensor> e : p.entrySet()) {
                if (e.getValue().requiresGrad()) {
                    out.put("grad " + e.getKey(), e.getValue().grad().toDoubleArray());
                }
            }
        }
        return new Result(out);
    }

    /** torchvision's BasicConv2d: conv without bias, batch norm (eps 0.001), relu. */
    private Tensor basic(Map<String, Tensor> p, String name, Tensor x, Conv2dSpec spec) {
        Tensor y = Functional.conv2d(x, p.get(name + ".conv.weight"), null, spec);
        return Functional.relu(Functional.batchNorm2d(y, p.get(name + ".bn.weight"), p.get(name + ".bn.bias"),
                p.get(name + ".bn.running_mean"), p.get(name + ".bn.running_var"), train, MOMENTUM, BN_EPS));
    }
}
