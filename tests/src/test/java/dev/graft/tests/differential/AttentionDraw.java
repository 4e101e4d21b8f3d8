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
import dev.graft.engine.backend.Conv2dSpec;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/**
 * A differential draw of a one-block vision transformer without layer norm (that op is built elsewhere), written with
 * Functional ops: a patch embedding (conv with stride = kernel = {@code patch}, bias), the [N, C, g, g'] grid
 * flattened to tokens [N, T, C] (flatten, transpose), a class token parameter [1, 1, C] expanded over the batch (an
 * add onto zeros) and concatenated on the token axis, a position embedding [1, T + 1, C] added, the qkv linear on
 * tokens, the heads split by reshape [N, T + 1, 3, heads, d], permute (2, 0, 3, 1, 4) and split on axis 0, scaled
 * dot-product attention (scale 1/sqrt(d)) with, when {@code bias} is set, an additive bias [heads, T + 1, T + 1]
 * gathered (index_select) from a table [R, heads] with a random index, the heads merged (transpose, reshape), the
 * proj linear, a residual, the class token's row sliced out (narrow) and a linear head. Cross-entropy on random
 * labels; every parameter trains. Weights: kaiming normal for the conv, U(-1/sqrt(fan_in), ..) for linears (torch's
 * default), N(0, 0.5^2) for the tokens and the bias table (larger than ViT's 0.02 so they matter), every value a
 * float.
 */
record AttentionDraw(int batch, int patch, int gridH, int gridW, int extra, int heads, int headDim, int classes, boolean bias,
                     int tableRows, long seed) implements DifferentialDraw {

    int dim() {
        return heads * headDim;
    }

    int tokens() {
        return gridH * gridW + 1;
    }

    @Override
    public String toString() {
        return String.format("attention block: patch %d on %dx%d (+%d) pixels -> %d tokens of %d (%d heads of %d), %s, classes=%d,"
                        + " batch %d, seed %d", patch, gridH * patch + extra, gridW * patch + extra, extra, tokens(), dim(), heads,
                headDim, bias ? "gathered bias from " + tableRows + " rows" : "no bias", classes, batch, seed);
    }

    private Map<String, Shape> shapes() {
        int c = dim();
        Map<String, Shape> s = new LinkedHashMap<>();
        s.put("patch_embed.proj.weight", Shape.of(c, 3, patch, patch));
        s.put("patch_embed.proj.bias", Shape.of(c));
        s.put("cls_token", Shape.of(1, 1, c));
        s.put("pos_embed", Shape.of(1, tokens(), c));
        s.put("attn.qkv.weight", Shape.of(3 * c, c));
        s.put("attn.qkv.bias", Shape.of(3 * c));
        if (bias) {
            s.put("attn.bias_table", Shape.of(tableRows, heads));
        }
        s.put("attn.proj.weight", Shape.of(c, c));
        s.put("attn.proj.bias", Shape.of(c));
        s.put("head.weight", Shape.of(classes, c));
        s.put("head.bias", Shape.of(classes));
        return s;
    }

    @Override
    public StateDict weights() {
        Random r = new Random(seed);
        StateDict sd = new StateDict();
        Map<String, Shape> shapes = shapes();
        for (Map.Entry<String, Shape> e : shapes.entrySet()) {
            String k = e.getKey();
            Shape s = e.getValue();
            float[] v = new float[s.numel()];
            boolean linear = k.startsWith("attn.qkv") || k.startsWith("attn.proj") || k.startsWith("head") || k.equals("patch_embed.proj.bias");
            int fanIn = k.endsWith(".bias") ? shapes.get(k.replace(".bias", ".weight")).numel() / s.dim(0)
                    : s.rank() > 1 ? s.numel() / s.dim(0) : 1;
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) (k.equals("patch_embed.proj.weight") ? r.nextGaussian() * Math.sqrt(2.0 / fanIn)
                        : linear ? (2 * r.nextDouble() - 1) / Math.sqrt(fanIn)
                        : 0.5 * r.nextGaussian());
            }
            sd.put(k, HostTensor.of(v, s));
        }
        return sd;
    }

    private int[] biasIndex() {
        Random r = new Random(seed + 3);
        int[] index = new int[tokens() * tokens()];
        for (int i = 0; i < index.length; i++) {
            index[i] = r.nextInt(tableRows); // repeats: the scatter-add backward must add
        }
        return index;
    }

    private double[] images() {
        Random r = new Random(seed + 1);
        double[] x = new double[batch * 3 * (gridH * patch + extra) * (gridW * patch + extra)];
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
        int c = dim();
        int t = tokens();
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
            Tensor images = Tensor.fromArray(device, dtype, images(), batch, 3, gridH * patch + extra, gridW * patch + extra);
            Tensor logits;
            try (Grad.Mode g = Grad.on()) {
                Tensor grid = Functional.conv2d(images, p.get("patch_embed.proj.weight"), p.get("patch_embed.proj.bias"),
                        new Conv2dSpec(patch, patch, 0, 0, 1, 1, 1));
                Tensor x = Functional.transpose(Functional.flatten(grid, 2), 1, 2); // [N, T - 1, C]
                Tensor cls = Functional.add(Tensor.zeros(device, dtype, batch, 1, c), p.get("cls_token"));
                x = Functional.add(Functional.cat(1, cls, x), p.get("pos_embed"));
                Tensor qkv = Functional.permute(Functional.reshape(
                        Functional.linear(x, p.get("attn.qkv.weight"), p.get("attn.qkv.bias")), batch, t, 3, heads, headDim), 2, 0, 3, 1, 4);
                Tensor[] parts = Functional.split(qkv, 0, 1, 1, 1);
                Tensor q = Functional.reshape(parts[0], batch, heads, t, headDim);
                Tensor k = Functional.reshape(parts[1], batch, heads, t, headDim);
                Tensor v = Functional.reshape(parts[2], batch, heads, t, headDim);
                Tensor b = bias ? Functional.permute(Functional.reshape(
                        Functional.indexSelect(p.get("attn.bias_table"), 0, biasIndex()), t, t, heads), 2, 0, 1) : null;
                Tensor a = Functional.scaledDotProductAttention(q, k, v, b, Double.NaN);
                Tensor merged = Functional.reshape(Functional.transpose(a, 1, 2), batch, t, c);
                x = Functional.add(x, Functional.linear(merged, p.get("attn.proj.weight"), p.get("attn.proj.bias")));
                Tensor clsOut = Functional.reshape(Functional.narrow(x, 1, 0, 1), batch, c);
                logits = Functional.linear(clsOut, p.get("head.weight"), p.get("head.bias"));
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
