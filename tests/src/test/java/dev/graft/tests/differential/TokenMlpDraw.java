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

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.SplittableRandom;

/**
 * A differential draw with a transformer's token MLP block, written with Functional ops (the ViT / Swin models are
 * not built yet): a patch embedding with stride = kernel = {@code patch}, computed as a linear layer on the image's
 * patches cut on the host (the same values as the convolution; the images are constants, and permuting the
 * convolution's [N, E, h, w] output into tokens needs a permute op this draw does not use), giving tokens
 * [N, T, E]; optionally Swin's cyclic shift (the tokens seen as the [N, h, w, E] grid, rolled by -shift on h and w)
 * and zero padding of the grid's bottom and right (as Swin pads to a multiple of its window); then the pre-norm MLP
 * block {@code x + fc2(gelu(fc1(layer_norm(x))))} (fc via reshape to [N*T, E]; GELU exact or tanh; drop path with
 * p = 0.1 in eval mode, which is the identity, so the residual is a plain add), a final layer norm, the mean over
 * tokens and a linear head. Everything trains. Weights: patch and MLP linears uniform(+-1/sqrt(fan_in)) like
 * torch's default, layer-norm weights 0.5-1.5 and biases N(0, 0.1^2), every value a float.
 */
record TokenMlpDraw(int batch, int gridH, int gridW, int patch, int embed, int hidden, int classes, int shift, boolean pad,
                    boolean tanh, double eps, long seed) implements DifferentialDraw {

    @Override
    public String toString() {
        return String.format("token MLP embed=%d hidden=%d classes=%d, batch %d x %dx%d patches of %d, roll %d, pad %s, gelu %s,"
                        + " eps %.0e, seed %d", embed, hidden, classes, batch, gridH, gridW, patch, shift, pad, tanh ? "tanh" : "erf",
                eps, seed);
    }

    private Map<String, Shape> shapes() {
        Map<String, Shape> s = new LinkedHashMap<>();
        s.put("patch_embed.weight", Shape.of(embed, 3 * patch * patch));
        s.put("patch_embed.bias", Shape.of(embed));
        s.put("norm1.weight", Shape.of(embed));
        s.put("norm1.bias", Shape.of(embed));
        s.put("mlp.fc1.weight", Shape.of(hidden, embed));
        s.put("mlp.fc1.bias", Shape.of(hidden));
        s.put("mlp.fc2.weight", Shape.of(embed, hidden));
        s.put("mlp.fc2.bias", Shape.of(embed));
        s.put("norm.weight", Shape.of(embed));
        s.put("norm.bias", Shape.of(embed));
        s.put("head.weight", Shape.of(classes, embed));
        s.put("head.bias", Shape.of(classes));
        return s;
    }

    @Override
    public StateDict weights() {
        Random r = new Random(seed);
        StateDict sd = new StateDict();
        for (Map.Entry<String, Shape> e : shapes().entrySet()) {
            String k = e.getKey();
            Shape s = e.getValue();
            boolean norm = k.startsWith("norm");
            int fanIn = norm ? 1 : shapes().get(k.replace(".bias", ".weight")).dim(1);
            float[] v = new float[s.numel()];
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) (norm && k.endsWith("weight") ? 0.5 + r.nextDouble()
                        : norm ? 0.1 * r.nextGaussian()
                        : (2 * r.nextDouble() - 1) / Math.sqrt(fanIn));
            }
            sd.put(k, HostTensor.of(v, s));
        }
        return sd;
    }

    /** The images' patches as rows [N * h * w, 3 * patch * patch], in a stride-patch convolution's (c, y, x) order. */
    private double[] patches() {
        Random r = new Random(seed + 1);
        int hh = gridH * patch;
        int ww = gridW * patch;
        float[] img = new float[batch * 3 * hh * ww];
        for (int i = 0; i < img.length; i++) {
            img[i] = (float) r.nextGaussian();
        }
        int k = 3 * patch * patch;
        double[] rows = new double[batch * gridH * gridW * k];
        for (int n = 0; n < batch; n++) {
            for (int gy = 0; gy < gridH; gy++) {
                for (int gx = 0; gx < gridW; gx++) {
                    int row = (n * gridH + gy) * gridW + gx;
                    for (int c = 0; c < 3; c++) {
                        for (int py = 0; py < patch; py++) {
                            for (int px = 0; px < patch; px++) {
                                rows[row * k + (c * patch + py) * patch + px] =
                                        img[((n * 3 + c) * hh + gy * patch + py) * ww + gx * patch + px];
                            }
                        }
                    }
                }
            }
        }
        return rows;
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
                p.put(k, Tensor.fromArray(device, dtype, d, h.shape().dims()).requiresGrad(true));
            }
            Tensor patches = Tensor.fromArray(device, dtype, patches(), batch * gridH * gridW, 3 * patch * patch);
            Tensor logits;
            try (Grad.Mode g = Grad.on()) {
                Tensor x = Functional.linear(patches, p.get("patch_embed.weight"), p.get("patch_embed.bias"));
                x = Functional.reshape(x, batch, gridH, gridW, embed);
                if (shift != 0) {
                    x = Functional.roll(x, new int[] {-shift, -shift}, new int[] {1, 2});
                }
                int h = gridH;
                int w = gridW;
                if (pad) {
                    x = Functional.pad(x, 0, 0, 0, 1, 0, 2); // W by (0, 1), H by (0, 2)
                    h += 2;
                    w += 1;
                }
                int tokens = h * w;
                x = Functional.reshape(x, batch, tokens, embed);
                Tensor y = Functional.layerNorm(x, p.get("norm1.weight"), p.get("norm1.bias"), eps);
                y = Functional.reshape(y, batch * tokens, embed);
                y = Functional.linear(y, p.get("mlp.fc1.weight"), p.get("mlp.fc1.bias"));
                y = Functional.gelu(y, tanh ? "tanh" : "none");
                y = Functional.linear(y, p.get("mlp.fc2.weight"), p.get("mlp.fc2.bias"));
                y = Functional.reshape(y, batch, tokens, embed);
                y = Functional.dropPath(y, 0.1, false, new SplittableRandom(seed)); // eval: the identity
                x = Functional.add(x, y);
                x = Functional.layerNorm(x, p.get("norm.weight"), p.get("norm.bias"), eps);
                Tensor pooled = Functional.scale(Functional.reshape(Functional.sumTo(x, batch, 1, embed), batch, embed), 1.0 / tokens);
                logits = Functional.linear(pooled, p.get("head.weight"), p.get("head.bias"));
            }
            out.put("logits", logits.toDoubleArray());
            Tensor loss = Functional.crossEntropy(logits, labels());
            out.put("loss", loss.toDoubleArray());
            loss.backward();
            for (Map.Entry<String, Tensor> e : p.entrySet()) {
                out.put("grad " + e.getKey(), e.getValue().grad().toDoubleArray());
            }
        }
        return new Result(out);
    }
}
