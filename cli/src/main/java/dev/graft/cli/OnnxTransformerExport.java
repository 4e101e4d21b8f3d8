package dev.graft.cli;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import com.google.protobuf.UnsafeByteOperations;
import dev.graft.engine.Device;
import dev.graft.models.Parameter;
import dev.graft.models.ResNet;
import dev.graft.models.ModelException;
import dev.graft.models.ResNetConfig;
import dev.graft.models.SwinConfig;
import dev.graft.models.SwinTransformer;
import dev.graft.models.ViTConfig;
import dev.graft.train.ModelFile;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The ONNX graph of a Swin Transformer ({@link #swin}, see there) or of a plain vision transformer (torchvision's ViT
 * or timm's DeiT names), written from the module's
 * own eval computation, not from a fused plan (it has none): patch Conv, Reshape + Transpose to tokens, the class
 * token Expanded to the batch and Concatenated in front, the position embedding Added (the one the model loaded: a
 * file for another image size has it interpolated already), then per block LayerNormalization, the packed q/k/v
 * MatMul + bias, heads split by Reshape + Transpose + Gather, softmax(q k^T / sqrt(d)) v, the output projection, the
 * residual Add, LayerNormalization, MatMul + bias, exact GELU as x * 0.5 * (1 + Erf(x / sqrt 2)), MatMul + bias,
 * Add; the final LayerNormalization, the class token Gathered, Gemm for the head. The batch axis is dynamic; the
 * image size is fixed at the model's (its position embedding has one token per patch of that size).
 */
final class OnnxTransformerExport {
    final List<NodeProto> nodes = new ArrayList<>();
    final List<TensorProto> initializers = new ArrayList<>();
    private final Map<String, Parameter> params;

    private OnnxTransformerExport(Map<String, Parameter> params) {
        this.params = params;
    }

    /** The nodes and initializers of {@code model}'s ViT, reading {@link OnnxExport#INPUT}, writing {@link OnnxExport#OUTPUT}. */
    static OnnxTransformerExport of(ModelFile model, ResNetConfig config) {
        // The reference backend loads the file as graft predict does (keys normalised, position embedding interpolated
        // to the configured grid): its parameters are exactly what the eval forward pass reads.
        try (ResNet m = ResNet.fromStateDict(model.state(), config, Device.REFERENCE)) {
            OnnxTransformerExport ex = new OnnxTransformerExport(new LinkedHashMap<>(m.namedParameters()));
            ex.build(config.vitConfig(), m.namedParameters().get(config.vitConfig().naming().patchEmbed + ".weight").tensor().dim(1));
            return ex;
        }
    }

    /**
     * The nodes and initializers of {@code model}'s Swin Transformer for images [N, C, size, size]: every shape after
     * the patch embedding follows from {@code size} (window padding, the shift, the window count and the shift mask
     * are fixed per stage), so the image size is fixed and the batch axis dynamic.
     */
    static OnnxTransformerExport swin(ModelFile model, ResNetConfig config, int size) {
        try (ResNet m = ResNet.fromStateDict(model.state(), config, Device.REFERENCE)) {
            OnnxTransformerExport ex = new OnnxTransformerExport(new LinkedHashMap<>(m.namedParameters()));
            ex.buildSwin(config.swinConfig(), size);
            return ex;
        }
    }

    private static final float SWIN_EPS = 1e-5f;

    private void buildSwin(SwinConfig c, int size) {
        int p = c.patch();
        if (size < p) {
            throw new ModelException("swin: image size " + size + " is smaller than the patch size " + p + "; nothing to export");
        }
        String x = nodes("Conv", "features.0.0", List.of(OnnxExport.INPUT, weight("features.0.0.weight"), weight("features.0.0.bias")),
                OnnxExport.ints("kernel_shape", p, p), OnnxExport.ints("strides", p, p));
        x = nodes("Transpose", "features.0.1", List.of(x), OnnxExport.ints("perm", 0, 2, 3, 1)); // NHWC
        x = layerNorm("features.0.2", x, SWIN_EPS);
        int h = (size - p) / p + 1;
        int w = h;
        String invSqrt2 = floats("gelu.inv_sqrt2", (float) (1.0 / Math.sqrt(2.0)));
        String one = floats("gelu.one", 1f);
        String half = floats("gelu.half", 0.5f);
        String[] index = {longScalar("index.0", 0), longScalar("index.1", 1), longScalar("index.2", 2)};
        for (int s = 0; s < c.depths().length; s++) {
            int dim = c.embed() << s;
            int heads = c.heads()[s];
            int stage = 2 * s + 1;
            for (int b = 0; b < c.depths()[s]; b++) {
                String pre = "features." + stage + "." + b + ".";
                String a = windowAttention(pre + "attn.", layerNorm(pre + "norm1", x, SWIN_EPS), h, w, dim, heads, c.window(),
                        b % 2 == 0 ? 0 : c.window() / 2, index);
                x = nodes("Add", pre + "residual1", List.of(x, a));
                String m1 = linear(pre + "mlp.0", layerNorm(pre + "norm2", x, SWIN_EPS), pre + "mlp.0.weight", pre + "mlp.0.bias");
                String gelu = gelu(pre + "mlp.1", m1, invSqrt2, one, half);
                x = nodes("Add", pre + "residual2", List.of(x, linear(pre + "mlp.3", gelu, pre + "mlp.3.weight", pre + "mlp.3.bias")));
            }
            if (s < c.depths().length - 1) { // patch merging: pad to even, 2x2 neighbours along channels, norm, reduction
                String pre = "features." + (stage + 1) + ".";
                if (h % 2 != 0 || w % 2 != 0) {
                    x = nodes("Pad", pre + "pad", List.of(x, longs(pre + "pads", 0, 0, 0, 0, 0, h % 2, w % 2, 0)));
                    h += h % 2;
                    w += w % 2;
                }
                String y = nodes("Reshape", pre + "split", List.of(x, longs(pre + "split_shape", -1, h / 2, 2, w / 2, 2, dim)));
                y = nodes("Transpose", pre + "gather", List.of(y), OnnxExport.ints("perm", 0, 1, 3, 4, 2, 5));
                y = nodes("Reshape", pre + "merge", List.of(y, longs(pre + "merge_shape", -1, h / 2, w / 2, 4 * dim)));
                x = nodes("MatMul", pre + "reduction", List.of(layerNorm(pre + "norm", y, SWIN_EPS),
                        transposed(pre + "reduction.weight")));
                h /= 2;
                w /= 2;
            }
        }
        String pooled = nodes("ReduceMean", "avgpool", List.of(layerNorm("norm", x, SWIN_EPS)), OnnxExport.ints("axes", 1, 2),
                AttributeProto.newBuilder().setName("keepdims").setType(AttributeProto.AttributeType.INT).setI(0).build());
        nodes.add(node("Gemm", "head", List.of(pooled, weight("head.weight"), weight("head.bias")), OnnxExport.OUTPUT,
                AttributeProto.newBuilder().setName("transB").setType(AttributeProto.AttributeType.INT).setI(1).build()));
    }

    /**
     * Shifted-window attention on an [N, h, w, dim] map: pad to whole windows, roll by -shift (Slice + Concat),
     * windows out by Reshape + Transpose, q/k/v, softmax(q k^T / sqrt(d) + B) v with B the relative position bias
     * gathered from its table now (plus the shift mask, both constants for this map size), the projection, windows
     * back, roll by +shift, the padding cut off.
     */
    private String windowAttention(String pre, String x, int h, int w, int dim, int heads, int window, int shift, String[] index) {
        int d = dim / heads;
        int padR = (window - w % window) % window;
        int padB = (window - h % window) % window;
        if (padR > 0 || padB > 0) {
            x = nodes("Pad", pre + "pad", List.of(x, longs(pre + "pads", 0, 0, 0, 0, 0, padB, padR, 0)));
        }
        int ph = h + padB;
        int pw = w + padR;
        int sh = window >= ph ? 0 : shift; // as the module: no shift along an axis one window covers
        int sw = window >= pw ? 0 : shift;
        x = roll(pre + "roll", x, 1, ph, sh, true);
        x = roll(pre + "roll", x, 2, pw, sw, true);
        int nh = ph / window;
        int nw = pw / window;
        int t = window * window;
        String y = nodes("Reshape", pre + "windows", List.of(x, longs(pre + "windows_shape", -1, nh, window, nw, window, dim)));
        y = nodes("Transpose", pre + "windows_t", List.of(y), OnnxExport.ints("perm", 0, 1, 3, 2, 4, 5));
        y = nodes("Reshape", pre + "tokens", List.of(y, longs(pre + "tokens_shape", -1, t, dim)));
        String z = linear(pre + "qkv", y, pre + "qkv.weight", pre + "qkv.bias");
        z = nodes("Reshape", pre + "split", List.of(z, longs(pre + "split_shape", -1, nh * nw, t, 3, heads, d)));
        z = nodes("Transpose", pre + "heads", List.of(z), OnnxExport.ints("perm", 3, 0, 1, 4, 2, 5)); // [3, N, nW, heads, T, d]
        String q = nodes("Gather", pre + "q", List.of(z, index[0]), axis(0));
        String k = nodes("Gather", pre + "k", List.of(z, index[1]), axis(0));
        String v = nodes("Gather", pre + "v", List.of(z, index[2]), axis(0));
        String kt = nodes("Transpose", pre + "k_t", List.of(k), OnnxExport.ints("perm", 0, 1, 2, 4, 3));
        String scores = nodes("Mul", pre + "scores", List.of(nodes("MatMul", pre + "qk", List.of(q, kt)),
                floats(pre + "scale", (float) (1.0 / Math.sqrt(d)))));
        scores = nodes("Add", pre + "biased", List.of(scores, attentionBias(pre, heads, window, ph, pw, sh, sw)));
        String probs = nodes("Softmax", pre + "softmax", List.of(scores), axis(-1));
        String ctx = nodes("MatMul", pre + "context", List.of(probs, v)); // [N, nW, heads, T, d]
        ctx = nodes("Transpose", pre + "context_t", List.of(ctx), OnnxExport.ints("perm", 0, 1, 3, 2, 4));
        ctx = nodes("Reshape", pre + "merge", List.of(ctx, longs(pre + "merge_shape", -1, t, dim)));
        String a = linear(pre + "proj", ctx, pre + "proj.weight", pre + "proj.bias");
        a = nodes("Reshape", pre + "unwindow", List.of(a, longs(pre + "unwindow_shape", -1, nh, nw, window, window, dim)));
        a = nodes("Transpose", pre + "unwindow_t", List.of(a), OnnxExport.ints("perm", 0, 1, 3, 2, 4, 5));
        a = nodes("Reshape", pre + "map", List.of(a, longs(pre + "map_shape", -1, ph, pw, dim)));
        a = roll(pre + "unroll", a, 1, ph, sh, false);
        a = roll(pre + "unroll", a, 2, pw, sw, false);
        if (padB > 0 || padR > 0) {
            a = nodes("Slice", pre + "crop", List.of(a, longs(pre + "crop_starts", 0, 0), longs(pre + "crop_ends", h, w),
                    longs(pre + "crop_axes", 1, 2)));
        }
        return a;
    }

    /** torch.roll along {@code axis} (length {@code n}) by -s ({@code back}) or +s: two Slices Concatenated. */
    private String roll(String pre, String x, int axis, int n, int s, boolean back) {
        if (s == 0) {
            return x;
        }
        int cut = back ? s : n - s; // roll by -s: [s, n) then [0, s); by +s: [n - s, n) then [0, n - s)
        String name = pre + ".axis" + axis;
        String tail = nodes("Slice", name + ".tail", List.of(x, longs(name + ".tail_start", cut), longs(name + ".tail_end", n),
                longs(name + ".axes", axis)));
        String head = nodes("Slice", name + ".head", List.of(x, longs(name + ".head_start", 0), longs(name + ".head_end", cut),
                name + ".axes"));
        return nodes("Concat", name, List.of(tail, head), axis(axis));
    }

    /**
     * B [1, nW or 1, heads, T, T]: the relative position bias table gathered by the window's relative position index
     * (the module's own index), plus the shift mask (-100 between positions of different regions) when shifted.
     */
    private String attentionBias(String pre, int heads, int window, int ph, int pw, int sh, int sw) {
        int t = window * window;
        float[] table = param(pre + "relative_position_bias_table").tensor().toFloatArray(); // [(2w-1)^2, heads]
        long[] idx = SwinTransformer.relativePositionIndex(window);
        float[] bias = new float[heads * t * t];
        for (int hd = 0; hd < heads; hd++) {
            for (int i = 0; i < t * t; i++) {
                bias[hd * t * t + i] = table[(int) idx[i] * heads + hd];
            }
        }
        if (sh + sw == 0) {
            return floatTensor(pre + "relative_position_bias", bias, "relative_position_bias_table gathered by relative_position_index",
                    1, 1, heads, t, t);
        }
        int nh = ph / window;
        int nw = pw / window;
        int[] region = new int[ph * pw];
        for (int i = 0; i < ph; i++) {
            int rh = i < ph - window ? 0 : (i < ph - sh ? 1 : 2);
            for (int j = 0; j < pw; j++) {
                int rw = j < pw - window ? 0 : (j < pw - sw ? 1 : 2);
                region[i * pw + j] = rh * 3 + rw;
            }
        }
        float[] out = new float[nh * nw * heads * t * t];
        for (int a = 0; a < nh; a++) {
            for (int b = 0; b < nw; b++) {
                int win = a * nw + b;
                for (int pi = 0; pi < t; pi++) {
                    int rp = region[(a * window + pi / window) * pw + b * window + pi % window];
                    for (int qi = 0; qi < t; qi++) {
                        int rq = region[(a * window + qi / window) * pw + b * window + qi % window];
                        float mask = rp == rq ? 0f : -100f;
                        for (int hd = 0; hd < heads; hd++) {
                            out[((win * heads + hd) * t + pi) * t + qi] = bias[(hd * t + pi) * t + qi] + mask;
                        }
                    }
                }
            }
        }
        return floatTensor(pre + "shifted_bias", out, "relative position bias plus the shifted-window mask (-100 across regions)",
                1, nh * nw, heads, t, t);
    }

    private String gelu(String name, String x, String invSqrt2, String one, String half) {
        String erf = nodes("Erf", name + ".erf", List.of(nodes("Mul", name + ".scaled", List.of(x, invSqrt2))));
        return nodes("Mul", name, List.of(nodes("Mul", name + ".gate", List.of(x, nodes("Add", name + ".one_plus", List.of(erf, one)))), half));
    }

    private void build(ViTConfig c, int inChannels) {
        ViTConfig.Naming n = c.naming();
        int hidden = c.hidden();
        int heads = c.heads();
        int d = hidden / heads;
        String conv = nodes("Conv", n.patchEmbed, List.of(OnnxExport.INPUT, weight(n.patchEmbed + ".weight"), weight(n.patchEmbed + ".bias")),
                OnnxExport.ints("kernel_shape", c.patch(), c.patch()), OnnxExport.ints("strides", c.patch(), c.patch()));
        String flat = nodes("Reshape", "patches.flatten", List.of(conv, longs("patches.shape", 0, hidden, -1)));
        String tokens = nodes("Transpose", "patches.tokens", List.of(flat), OnnxExport.ints("perm", 0, 2, 1));
        // The class token [1, 1, C] expanded to [N, 1, C]: N read from the input's shape.
        String shape = nodes("Shape", "input.shape", List.of(OnnxExport.INPUT));
        String batch = nodes("Slice", "input.batch", List.of(shape, longs("zero1", 0), longs("one1", 1)));
        String clsShape = nodes("Concat", "class_token.shape", List.of(batch, longs("class_token.rest", 1, hidden)), axis(0));
        String cls = nodes("Expand", "class_token.expand", List.of(weight(n.classToken), clsShape));
        String cat = nodes("Concat", "tokens.cat", List.of(cls, tokens), axis(1));
        String x = nodes("Add", "tokens.pos", List.of(cat, weight(n.posEmbed)));
        String headsShape = longs("attention.heads_shape", 0, 0, 3, heads, d);
        String mergeShape = longs("attention.merge_shape", 0, 0, hidden);
        String scale = floats("attention.scale", (float) (1.0 / Math.sqrt(d)));
        String[] qkvIndex = {longScalar("index.0", 0), longScalar("index.1", 1), longScalar("index.2", 2)};
        String invSqrt2 = floats("gelu.inv_sqrt2", (float) (1.0 / Math.sqrt(2.0)));
        String one = floats("gelu.one", 1f);
        String half = floats("gelu.half", 0.5f);
        for (int i = 0; i < c.depth(); i++) {
            String b = n.block(i) + ".";
            String a = b + n.attention + ".";
            String h = layerNorm(b + n.norm1, x);
            String packed = linear(a + (n == ViTConfig.Naming.TORCHVISION ? "in_proj" : "qkv"), h,
                    a + n.qkvWeight(), a + n.qkvBias());
            String split = nodes("Reshape", a + "split", List.of(packed, headsShape));
            String perm = nodes("Transpose", a + "heads", List.of(split), OnnxExport.ints("perm", 2, 0, 3, 1, 4)); // [3, N, h, T, d]
            String q = nodes("Gather", a + "q", List.of(perm, qkvIndex[0]), axis(0));
            String k = nodes("Gather", a + "k", List.of(perm, qkvIndex[1]), axis(0));
            String v = nodes("Gather", a + "v", List.of(perm, qkvIndex[2]), axis(0));
            String kt = nodes("Transpose", a + "k_t", List.of(k), OnnxExport.ints("perm", 0, 1, 3, 2));
            String scores = nodes("Mul", a + "scores", List.of(nodes("MatMul", a + "qk", List.of(q, kt)), scale));
            String probs = nodes("Softmax", a + "softmax", List.of(scores), axis(-1));
            String ctx = nodes("MatMul", a + "context", List.of(probs, v));
            String merged = nodes("Reshape", a + "merge", List.of(nodes("Transpose", a + "context_t", List.of(ctx),
                    OnnxExport.ints("perm", 0, 2, 1, 3)), mergeShape));
            String o = a + n.outProjection();
            x = nodes("Add", b + "residual1", List.of(x, linear(o, merged, o + ".weight", o + ".bias")));
            String m1 = linear(b + n.fc1, layerNorm(b + n.norm2, x), b + n.fc1 + ".weight", b + n.fc1 + ".bias");
            String erf = nodes("Erf", b + "gelu.erf", List.of(nodes("Mul", b + "gelu.scaled", List.of(m1, invSqrt2))));
            String gelu = nodes("Mul", b + "gelu", List.of(nodes("Mul", b + "gelu.gate", List.of(m1,
                    nodes("Add", b + "gelu.one_plus", List.of(erf, one)))), half));
            x = nodes("Add", b + "residual2", List.of(x, linear(b + n.fc2, gelu, b + n.fc2 + ".weight", b + n.fc2 + ".bias")));
        }
        String normed = layerNorm(n.finalNorm, x);
        String clsOut = nodes("Gather", "class_token.out", List.of(normed, qkvIndex[0]), axis(1)); // [N, C]
        nodes.add(node("Gemm", n.head, List.of(clsOut, weight(n.head + ".weight"), weight(n.head + ".bias")), OnnxExport.OUTPUT,
                AttributeProto.newBuilder().setName("transB").setType(AttributeProto.AttributeType.INT).setI(1).build()));
    }

    /** x W^T + b as MatMul with W stored transposed [in, out] (named {@code <key>_t}) and Add of the bias. */
    private String linear(String name, String x, String weightKey, String biasKey) {
        String y = nodes("MatMul", name + ".matmul", List.of(x, transposed(weightKey)));
        return nodes("Add", name, List.of(y, weight(biasKey)));
    }

    /** The [out, in] weight {@code weightKey} as an [in, out] initializer {@code <key>_t}, for MatMul. */
    private String transposed(String weightKey) {
        Parameter p = param(weightKey);
        int out = p.tensor().dim(0);
        int in = p.tensor().dim(1);
        float[] w = p.tensor().toFloatArray();
        float[] t = new float[w.length];
        for (int r = 0; r < out; r++) {
            for (int col = 0; col < in; col++) {
                t[col * out + r] = w[r * in + col];
            }
        }
        return floatTensor(weightKey + "_t", t, "transposed " + weightKey, in, out);
    }

    private String layerNorm(String module, String x) {
        return layerNorm(module, x, (float) ViTConfig.LAYER_NORM_EPS);
    }

    private String layerNorm(String module, String x, float eps) {
        return nodes("LayerNormalization", module, List.of(x, weight(module + ".weight"), weight(module + ".bias")), axis(-1),
                AttributeProto.newBuilder().setName("epsilon").setType(AttributeProto.AttributeType.FLOAT).setF(eps).build());
    }

    private Parameter param(String key) {
        Parameter p = params.get(key);
        if (p == null) {
            throw new IllegalStateException("the loaded vision transformer has no parameter " + key);
        }
        return p;
    }

    /** The parameter {@code key} as an initializer of its own name and shape. */
    private String weight(String key) {
        Parameter p = param(key);
        var s = p.tensor().shape();
        int[] dims = new int[s.rank()];
        for (int i = 0; i < dims.length; i++) {
            dims[i] = s.dim(i);
        }
        return floatTensor(key, p.tensor().toFloatArray(), null, dims);
    }

    private String floatTensor(String name, float[] v, String doc, int... dims) {
        ByteBuffer bytes = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        bytes.asFloatBuffer().put(v);
        TensorProto.Builder p = TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.FLOAT.getNumber())
                .setRawData(UnsafeByteOperations.unsafeWrap(bytes.array()));
        for (int dim : dims) {
            p.addDims(dim);
        }
        if (doc != null) {
            p.setDocString(doc);
        }
        initializers.add(p.build());
        return name;
    }

    /** A float32 scalar constant. */
    private String floats(String name, float value) {
        return floatTensor(name, new float[] {value}, null);
    }

    /** An int64 vector constant (a shape, Slice bounds). */
    private String longs(String name, long... values) {
        TensorProto.Builder p = TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.INT64.getNumber())
                .addDims(values.length);
        for (long v : values) {
            p.addInt64Data(v);
        }
        initializers.add(p.build());
        return name;
    }

    /** An int64 scalar (a Gather index that drops its axis). */
    private String longScalar(String name, long value) {
        initializers.add(TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.INT64.getNumber())
                .addInt64Data(value).build());
        return name;
    }

    /** Adds a node whose output is named as the node ({@code name}, made unique); returns the output. */
    private String nodes(String op, String name, List<String> inputs, AttributeProto... attributes) {
        String out = name;
        nodes.add(node(op, out, inputs, out, attributes));
        return out;
    }

    private static NodeProto node(String op, String name, List<String> inputs, String output, AttributeProto... attributes) {
        NodeProto.Builder b = NodeProto.newBuilder().setOpType(op).setName(name).addAllInput(inputs).addOutput(output);
        for (AttributeProto a : attributes) {
            b.addAttribute(a);
        }
        return b.build();
    }

    private static AttributeProto axis(int axis) {
        return AttributeProto.newBuilder().setName("axis").setType(AttributeProto.AttributeType.INT).setI(axis).build();
    }
}
