package dev.graft.cli;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.StringStringEntryProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.UnsafeByteOperations;
import dev.graft.engine.Device;
import dev.graft.engine.HostTensor;
import dev.graft.engine.Shape;
import dev.graft.models.InferenceGraph;
import dev.graft.models.InferencePlan;
import dev.graft.models.ModelException;
import dev.graft.models.ModelMetadata;
import dev.graft.models.ResNet;
import dev.graft.models.ResNetConfig;
import dev.graft.models.Temperature;
import dev.graft.train.ModelFile;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A model file as an ONNX model ({@code graft export --onnx}): the network's {@link InferenceGraph} (batch norm
 * folded into the convolutions, with Graft's own folded F32 weights) written with ONNX's generated schema classes
 * ({@code ai.onnx.proto.OnnxMl}, from onnx-ml.proto) in opset {@value #OPSET}, IR version {@value #IR_VERSION} (the
 * IR that opset came with, ONNX 1.12, so older runtimes load it too).
 *
 * <p>Input {@value #INPUT} float32 [N, C, H, W] with N, H and W dynamic (the global average pool takes any size;
 * the model was trained at {@code graft.image_size}); output {@value #OUTPUT} float32 [N, classes]. The graph is
 * conv1 (+relu), maxpool, each block's convolutions (+relu), the shortcut added before the block's last relu,
 * GlobalAveragePool, Flatten and Gemm for {@code fc}, as PyTorch's exporter writes a torchvision ResNet in eval
 * mode. The preprocessing, class names, decision rule and temperature go into {@code metadata_props} under the
 * model file's own keys (docs/onnx.md).
 *
 * <p>Transformers (ViT, DeiT, Swin) have no fused plan: {@link OnnxTransformerExport} writes their graph from the
 * modules' eval computation, for images of one fixed size ({@link #imageSize}), the batch axis dynamic.
 */
final class OnnxExport {
    static final int OPSET = 17;
    static final int IR_VERSION = 8;
    static final String INPUT = "input";
    static final String OUTPUT = "logits";
    /** The whole model is one protobuf message, whose size protobuf-java counts in an int; leave room for the graph. */
    static final long MAX_WEIGHT_BYTES = Integer.MAX_VALUE - (64L << 20);

    private static final ObjectMapper JSON = new ObjectMapper();

    private final List<NodeProto> nodes = new ArrayList<>();
    private final List<TensorProto> initializers = new ArrayList<>();
    private final String[] names;

    private OnnxExport(int values) {
        names = new String[values];
        names[0] = INPUT;
    }

    /** {@code model} (read from {@code file}) as an ONNX model; {@code producerVersion} is Graft's version. */
    static ModelProto model(String file, ModelFile model, String producerVersion) {
        ResNetConfig config = ResNet.configOf(model.state());
        if (config.isVit() || config.isSwin()) {
            return transformer(file, model, config, producerVersion);
        }
        InferenceGraph graph;
        // The reference backend keeps the folded copies on the Java heap: no native memory, no device needed.
        try (InferencePlan plan = InferencePlan.compile(config, model.state()::get, Device.REFERENCE)) {
            graph = plan.graph();
        } catch (ModelException e) {
            throw new ModelException(file + ": " + e.getMessage() + "; the network cannot be exported");
        }
        long bytes = 0;
        for (InferenceGraph.Node n : graph.nodes()) {
            if (n instanceof InferenceGraph.Convolution c) {
                bytes += 4L * (c.weight().shape().numel() + c.bias().shape().numel());
            }
        }
        if (bytes > MAX_WEIGHT_BYTES) {
            throw new ModelException(String.format(Locale.ROOT, "%s: the weights take %.2f GB; one ONNX file holds at most 2 GB (a "
                    + "protobuf message), and graft export does not write ONNX's external-data form", file, bytes / 1e9));
        }
        int values = 1;
        for (InferenceGraph.Node n : graph.nodes()) {
            values = Math.max(values, n.out() + 1);
        }
        OnnxExport ex = new OnnxExport(values);
        for (InferenceGraph.Node n : graph.nodes()) {
            ex.add(n, graph);
        }
        GraphProto g = GraphProto.newBuilder()
                .setName(config.architecture())
                .addAllNode(ex.nodes)
                .addAllInitializer(ex.initializers)
                .addInput(tensorInfo(INPUT, "N", graph.inChannels(), "H", "W"))
                .addOutput(tensorInfo(OUTPUT, "N", config.numClasses()))
                .setDocString("Logits of " + config + " for images [N, " + graph.inChannels() + ", H, W], preprocessed as "
                        + "metadata_props says; batch norm is folded into the convolutions.")
                .build();
        return modelProto(file, model, config, producerVersion, g);
    }

    /**
     * A plain vision transformer or a Swin Transformer ({@link OnnxTransformerExport}): input [N, C, S, S] at
     * {@link #imageSize} S.
     */
    private static ModelProto transformer(String file, ModelFile model, ResNetConfig config, String producerVersion) {
        int size = imageSize(model, config);
        OnnxTransformerExport ex = config.isVit() ? OnnxTransformerExport.of(model, config) : OnnxTransformerExport.swin(model, config, size);
        long bytes = 0;
        for (TensorProto t : ex.initializers) {
            bytes += t.getRawData().size();
        }
        if (bytes > MAX_WEIGHT_BYTES) {
            throw new ModelException(String.format(Locale.ROOT, "%s: the weights take %.2f GB; one ONNX file holds at most 2 GB (a "
                    + "protobuf message), and graft export does not write ONNX's external-data form", file, bytes / 1e9));
        }
        GraphProto g = GraphProto.newBuilder()
                .setName(config.architecture())
                .addAllNode(ex.nodes)
                .addAllInitializer(ex.initializers)
                .addInput(tensorInfo(INPUT, "N", config.inChannels(), size, size))
                .addOutput(tensorInfo(OUTPUT, "N", config.numClasses()))
                .setDocString("Logits of " + config + " for images [N, " + config.inChannels() + ", " + size + ", " + size
                        + "], preprocessed as metadata_props says; the eval-mode forward pass of the transformer.")
                .build();
        return modelProto(file, model, config, producerVersion, g);
    }

    /**
     * The fixed image size of a transformer's graph: a ViT's configured size (its position embedding has one token per
     * patch of it); a Swin Transformer's trained size ({@code graft.image_size}), since its window padding, shift and
     * mask follow from the map size.
     */
    static int imageSize(ModelFile model, ResNetConfig config) {
        return config.isVit() ? config.vitConfig().imageSize() : model.preprocessing().imageSize();
    }

    private static ModelProto modelProto(String file, ModelFile model, ResNetConfig config, String producerVersion, GraphProto g) {
        ModelProto.Builder m = ModelProto.newBuilder()
                .setIrVersion(IR_VERSION)
                .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(OPSET))
                .setProducerName("graft")
                .setProducerVersion(producerVersion)
                .setDocString("Exported by graft export --onnx from " + file + ". Preprocessing, class names and the decision "
                        + "rule are in metadata_props (Graft's docs/onnx.md).")
                .setGraph(g);
        metadata(model, config).forEach((k, v) -> m.addMetadataProps(StringStringEntryProto.newBuilder().setKey(k).setValue(v)));
        return m.build();
    }

    /**
     * What a user of the graph needs besides it, under the model file's keys, every value explicit (a file without
     * Graft metadata gets the defaults Graft applies: numbered classes, ImageNet preprocessing, argmax, T = 1).
     */
    static Map<String, String> metadata(ModelFile model, ResNetConfig config) {
        Map<String, String> m = new LinkedHashMap<>();
        Map<String, String> file = model.state().metadata();
        m.put(ResNet.META_ARCHITECTURE, config.architecture());
        m.put(ResNet.META_CONFIG, config.describe());
        m.put(ModelMetadata.META_CLASSES, json(model.classes()));
        m.putAll(model.preprocessing().toMetadata());
        m.putAll(model.decision().toMetadata());
        m.put(Temperature.META_TEMPERATURE, Double.toString(model.temperature()));
        m.put("graft.input_channels", Integer.toString(config.inChannels()));
        if (file.containsKey(ResNet.META_BATCHNORM_POLICY)) {
            m.put(ResNet.META_BATCHNORM_POLICY, file.get(ResNet.META_BATCHNORM_POLICY));
        }
        return m;
    }

    private static String json(List<String> classes) {
        try {
            return JSON.writeValueAsString(classes);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private final java.util.Set<String> usedNames = new java.util.HashSet<>();

    private void add(InferenceGraph.Node n, InferenceGraph graph) {
        if (n instanceof InferenceGraph.Convolution c && c.out() == graph.logits()) {
            head(c);
        } else if (n instanceof InferenceGraph.Convolution c) {
            convolution(c);
        } else if (n instanceof InferenceGraph.MaxPool p) {
            String out = p.name(); // the module's: "maxpool" in a ResNet, "features.3" ... in a CBR network (node names are unique)
            nodes.add(node("MaxPool", out, List.of(names[p.in()]), out,
                    ints("kernel_shape", p.spec().kernelH(), p.spec().kernelW()),
                    ints("strides", p.spec().strideH(), p.spec().strideW()),
                    ints("pads", p.spec().padH(), p.spec().padW(), p.spec().padH(), p.spec().padW())));
            names[p.out()] = out;
        } else if (n instanceof InferenceGraph.AveragePool p) { // InceptionV3's branch pools (count_include_pad as torch's default)
            String out = p.name();
            nodes.add(node("AveragePool", out, List.of(names[p.in()]), out,
                    ints("kernel_shape", p.spec().kernelH(), p.spec().kernelW()),
                    ints("strides", p.spec().strideH(), p.spec().strideW()),
                    ints("pads", p.spec().padH(), p.spec().padW(), p.spec().padH(), p.spec().padW()),
                    AttributeProto.newBuilder().setName("count_include_pad").setType(AttributeProto.AttributeType.INT)
                            .setI(p.spec().countIncludePad() ? 1 : 0).build()));
            names[p.out()] = out;
        } else if (n instanceof InferenceGraph.Concat c) { // a block's branches, on channels
            String out = c.name() + ".cat";
            for (int i = 1; !usedNames.add(out); i++) { // InceptionE's inner 1x3 / 3x1 concats share their block's name
                out = c.name() + ".cat_" + i;
            }
            List<String> ins = new java.util.ArrayList<>();
            for (int in : c.ins()) {
                ins.add(names[in]);
            }
            nodes.add(node("Concat", out, ins, out,
                    AttributeProto.newBuilder().setName("axis").setType(AttributeProto.AttributeType.INT).setI(1).build()));
            names[c.out()] = out;
        } else if (n instanceof InferenceGraph.GlobalAveragePool p) {
            String out = "avgpool";
            nodes.add(node("GlobalAveragePool", out, List.of(names[p.in()]), out));
            names[p.out()] = out;
        }
    }

    /** Conv with the folded weights, then Add of the shortcut and Relu where the plan fuses them. */
    private void convolution(InferenceGraph.Convolution c) {
        String w = initializer(c.name() + ".weight", c.weight(), c.weight().shape(), c.batchNorm());
        String b = initializer(c.name() + ".bias", c.bias(), c.bias().shape(), c.batchNorm());
        var spec = c.spec();
        String y = c.name();
        nodes.add(node("Conv", y, List.of(names[c.in()], w, b), y,
                ints("kernel_shape", c.kernel(), c.kernelW()),
                ints("strides", spec.strideH(), spec.strideW()),
                ints("pads", spec.padH(), spec.padW(), spec.padH(), spec.padW()),
                ints("dilations", spec.dilationH(), spec.dilationW()),
                AttributeProto.newBuilder().setName("group").setType(AttributeProto.AttributeType.INT).setI(spec.groups()).build()));
        String block = c.name().contains(".") ? c.name().substring(0, c.name().lastIndexOf('.') + 1) : "";
        if (c.residual() >= 0) {
            String sum = block + "add";
            nodes.add(node("Add", sum, List.of(y, names[c.residual()]), sum));
            y = sum;
        }
        if (c.relu()) {
            String r = c.residual() >= 0 ? block + "relu" : c.name() + ".relu";
            nodes.add(node("Relu", r, List.of(y), r));
            y = r;
        }
        names[c.out()] = y;
    }

    /** {@code fc}: Flatten the pooled [N, F, 1, 1] features, then Gemm with the [classes, F] weight (transB). */
    private void head(InferenceGraph.Convolution c) {
        String flat = "flatten";
        nodes.add(node("Flatten", flat, List.of(names[c.in()]), flat,
                AttributeProto.newBuilder().setName("axis").setType(AttributeProto.AttributeType.INT).setI(1).build()));
        Shape s = c.weight().shape();
        String w = initializer(c.name() + ".weight", c.weight(), Shape.of(s.dim(0), s.dim(1)), null);
        String b = initializer(c.name() + ".bias", c.bias(), c.bias().shape(), null);
        nodes.add(node("Gemm", c.name(), List.of(flat, w, b), OUTPUT,
                AttributeProto.newBuilder().setName("transB").setType(AttributeProto.AttributeType.INT).setI(1).build()));
        names[c.out()] = OUTPUT;
    }

    /** A float32 initializer in raw little-endian bytes (ONNX's raw_data layout), named as the state dict names it. */
    private String initializer(String name, HostTensor t, Shape shape, String foldedFrom) {
        float[] v = t.floats();
        ByteBuffer bytes = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        bytes.asFloatBuffer().put(v);
        TensorProto.Builder p = TensorProto.newBuilder()
                .setName(name)
                .setDataType(TensorProto.DataType.FLOAT.getNumber())
                .setRawData(UnsafeByteOperations.unsafeWrap(bytes.array()));
        for (int i = 0; i < shape.rank(); i++) {
            p.addDims(shape.dim(i));
        }
        if (foldedFrom != null) {
            p.setDocString("folded with " + foldedFrom + " (eval-mode running statistics)");
        }
        initializers.add(p.build());
        return name;
    }

    private static NodeProto node(String op, String name, List<String> inputs, String output, AttributeProto... attributes) {
        NodeProto.Builder b = NodeProto.newBuilder().setOpType(op).setName(name).addAllInput(inputs).addOutput(output);
        for (AttributeProto a : attributes) {
            b.addAttribute(a);
        }
        return b.build();
    }

    static AttributeProto ints(String name, int... values) {
        AttributeProto.Builder b = AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INTS);
        for (int v : values) {
            b.addInts(v);
        }
        return b.build();
    }

    /** A float32 tensor's name and shape; a String dimension is symbolic (dynamic), an Integer fixed. */
    static ValueInfoProto tensorInfo(String name, Object... dims) {
        TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
        for (Object d : dims) {
            TensorShapeProto.Dimension.Builder dim = TensorShapeProto.Dimension.newBuilder();
            if (d instanceof String param) {
                dim.setDimParam(param);
            } else {
                dim.setDimValue((Integer) d);
            }
            shape.addDim(dim);
        }
        return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder().setTensorType(
                TypeProto.Tensor.newBuilder().setElemType(TensorProto.DataType.FLOAT.getNumber()).setShape(shape))).build();
    }
}
