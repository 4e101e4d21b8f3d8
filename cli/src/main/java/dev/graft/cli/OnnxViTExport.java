package dev.graft.cli;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import com.google.protobuf.UnsafeByteOperations;
import dev.graft.engine.Device;
import dev.graft.models.Parameter;
import dev.graft.models.ResNet;
import dev.graft.models.ResNetConfig;
import dev.graft.models.ViTConfig;
import dev.graft.train.ModelFile;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The ONNX graph of a plain vision transformer (torchvision's ViT or timm's DeiT names), written from the module's
 * own eval computation, not from a fused plan (it has none): patch Conv, Reshape + Transpose to tokens, the class
 * token Expanded to the batch and Concatenated in front, the position embedding Added (the one the model loaded: a
 * file for another image size has it interpolated already), then per block LayerNormalization, the packed q/k/v
 * MatMul + bias, heads split by Reshape + Transpose + Gather, softmax(q k^T / sqrt(d)) v, the output projection, the
 * residual Add, LayerNormalization, MatMul + bias, exact GELU as x * 0.5 * (1 + Erf(x / sqrt 2)), MatMul + bias,
 * Add; the final LayerNormalization, the class token Gathered, Gemm for the head. The batch axis is dynamic; the
 * image size is fixed at the model's (its position embedding has one token per patch of that size).
 */
final class OnnxViTExport {
    final List<NodeProto> nodes = new ArrayList<>();
    final List<TensorProto> initializers = new ArrayList<>();
    private final Map<String, Parameter> params;

    private OnnxViTExport(Map<String, Parameter> params) {
        this.params = params;
    }

    /** The nodes and initializers of {@code model}'s ViT, reading {@link OnnxExport#INPUT}, writing {@link OnnxExport#OUTPUT}. */
    static OnnxViTExport of(ModelFile model, ResNetConfig config) {
        // The reference backend loads the file as graft predict does (keys normalised, position embedding interpolated
        // to the configured grid): its parameters are exactly what the eval forward pass reads.
        try (ResNet m = ResNet.fromStateDict(model.state(), config, Device.REFERENCE)) {
            OnnxViTExport ex = new OnnxViTExport(new LinkedHashMap<>(m.namedParameters()));
            ex.build(config.vitConfig(), m.namedParameters().get(config.vitConfig().naming().patchEmbed + ".weight").tensor().dim(1));
            return ex;
        }
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
        String wt = floatTensor(weightKey + "_t", t, "transposed " + weightKey, in, out);
        String y = nodes("MatMul", name + ".matmul", List.of(x, wt));
        return nodes("Add", name, List.of(y, weight(biasKey)));
    }

    private String layerNorm(String module, String x) {
        return nodes("LayerNormalization", module, List.of(x, weight(module + ".weight"), weight(module + ".bias")), axis(-1),
                AttributeProto.newBuilder().setName("epsilon").setType(AttributeProto.AttributeType.FLOAT)
                        .setF((float) ViTConfig.LAYER_NORM_EPS).build());
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
