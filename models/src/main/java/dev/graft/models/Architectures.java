package dev.graft.models;

import dev.graft.engine.Shape;
import dev.graft.engine.backend.AvgPool2dSpec;
import dev.graft.engine.backend.Conv2dSpec;
import dev.graft.engine.backend.Pool2dSpec;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The architecture registry: every family declares its layers once, here, as a {@link Topology} under PyTorch's
 * state-dict names, and recognises its own state dicts. The named architectures ({@code resnet18}...,
 * {@code cbr_tiny}...) are listed by {@link #names()}.
 *
 * <ul>
 *   <li>{@code resnet}: torchvision's {@code ResNet} ({@code _make_layer}: a 1x1 conv + BN downsample where the
 *   stride or width changes; stride 2 on the first block of layers 2-4).</li>
 *   <li>{@code cbr}: Transfusion's (Raghu et al. 2019) conv-BN-ReLU networks as a plain PyTorch re-implementation
 *   writes them: {@code features = nn.Sequential(Conv2d(k, stride 1, padding k/2, bias=False), BatchNorm2d, ReLU,
 *   [MaxPool2d(3, 2)], ...)}, {@code avgpool = AdaptiveAvgPool2d(1)}, {@code fc = Linear}. So block b's convolution is
 *   {@code features.i.weight} with i counting every module of the Sequential, relus and pools included.</li>
 *   <li>{@code vit}: torchvision's {@code VisionTransformer} ({@code vit_b_16}, {@code vit_b_32}, {@code vit_l_16})
 *   under torchvision's names and DeiT-S ({@code deit_s}) under timm's: one {@link Topology.ViT} layer run unfused
 *   through {@link VisionTransformer}'s modules (as {@code swin} runs {@link SwinTransformer}'s).</li>
 * </ul>
 *
 * <p>A new family (InceptionV3's branches and channel concat, a transformer's blocks) adds a layer kind to
 * {@link Topology.Layer}, one declaration method here and one recogniser; the module builder, the inference plan and
 * the state-dict shapes read the declaration.
 */
public final class Architectures {
    public static final String RESNET = "resnet";
    public static final String CBR = "cbr";
    public static final String INCEPTION = "inception";
    public static final String SWIN = "swin";
    public static final String VIT = ViTConfig.FAMILY;

    private Architectures() {
    }

    /** Every named architecture: the torchvision ResNets, then {@code cbr_large_t}, {@code cbr_large_w}, {@code cbr_small}, {@code cbr_tiny}. */
    public static Set<String> names() {
        return ResNetConfig.allNames();
    }

    /** The layers of {@code config}'s network. */
    public static Topology declare(ResNetConfig config) {
        if (config.isSwin()) {
            return swin(config);
        }
        if (config.isVit()) {
            return vit(config);
        }
        return config.isInception() ? inception(config) : config.isCbr() ? cbr(config) : resnet(config);
    }

    /**
     * The family whose state dict these keys and shapes are: CBR when {@code features.0.weight} is followed by a batch
     * norm {@code features.1}, else ResNet (whose error names the keys it misses).
     */
    public static ResNetConfig recognize(Map<String, Shape> shapes) {
        ResNetConfig swin = recognizeSwin(shapes);
        if (swin != null) {
            return swin;
        }
        if (shapes.containsKey("class_token") || shapes.containsKey("cls_token")) {
            return ResNetConfig.vit(VisionTransformer.recognize(shapes)); // torchvision's ViT or timm's DeiT
        }
        ResNetConfig found = shapes.containsKey("Mixed_5b.branch1x1.conv.weight") ? recognizeInception(shapes)
                : shapes.containsKey("features.0.weight") && shapes.containsKey("features.1.running_var")
                ? recognizeCbr(shapes) : ArchitectureInference.inferResNet(shapes);
        // The declaration has the last word: every tensor it names that the state dict holds has the declared shape.
        for (Map.Entry<String, Shape> e : InferencePlan.stateShapes(found).entrySet()) {
            Shape there = shapes.get(e.getKey());
            if (there != null && !there.equals(e.getValue())) {
                throw new ModelException("the state dict looks like " + found + ", but " + e.getKey() + " has shape " + there
                        + " where that network has " + e.getValue());
            }
        }
        return found;
    }

    // ---- swin (torchvision's SwinTransformer, v1) -----------------------------------------------------------------

    /** One {@link Topology.Swin} layer, {@code head} as the classifier; units as {@link SwinTransformer#units}. */
    private static Topology swin(ResNetConfig config) {
        List<Topology.Unit> units = SwinTransformer.units(config.swinConfig());
        return new Topology(SWIN, List.of(new Topology.Swin(config.swinConfig())), 0, "head", config.featureWidth(),
                config.numClasses(), units, (units.size() - 1 + 1) / 2);
    }

    /** A Swin state dict (keys {@code features.0.0.weight} and {@code features.1.0.attn.relative_position_bias_table}), or null. */
    private static ResNetConfig recognizeSwin(Map<String, Shape> shapes) {
        if (!shapes.containsKey("features.1.0.attn.relative_position_bias_table")) {
            return null;
        }
        Map<String, int[]> dims = new java.util.LinkedHashMap<>();
        shapes.forEach((k, v) -> dims.put(k, v.dims()));
        SwinConfig c = SwinConfig.recognize(dims);
        if (c == null) {
            throw new ModelException("the state dict has Swin Transformer keys (features.1.0.attn.relative_position_bias_table) "
                    + "but not a complete torchvision SwinTransformer (features.0.0.weight, head.weight, stages features.1, 3, ...)");
        }
        return ResNetConfig.swin(c);
    }

    // ---- vit (torchvision's VisionTransformer, timm's DeiT) --------------------------------------------------------

    /**
     * One {@link Topology.ViT} layer, the naming's head ({@code heads.head} / {@code head}) as the classifier; units as
     * {@link VisionTransformer#units}: the embedding, each block, the final norm with the head. Discriminative learning
     * rates: the embedding and the first half of the blocks, the rest, the head.
     */
    private static Topology vit(ResNetConfig config) {
        ViTConfig v = config.vitConfig();
        List<Topology.Unit> units = VisionTransformer.units(v);
        return new Topology(VIT, List.of(new Topology.ViT(v)), 0, v.naming().head, config.featureWidth(),
                config.numClasses(), units, 1 + (v.depth() + 1) / 2);
    }

    // ---- resnet -----------------------------------------------------------------------------------------------

    private static Topology resnet(ResNetConfig config) {
        List<Topology.Layer> layers = new ArrayList<>();
        List<Topology.Unit> units = new ArrayList<>();
        int stem = config.stemChannels();
        layers.add(new Topology.ConvBn("conv1", "bn1", "relu", true, config.inChannels(), stem, 7, Conv2dSpec.of(2, 3), false));
        layers.add(new Topology.Pool("maxpool", Pool2dSpec.of(3, 2, 1)));
        units.add(new Topology.Unit("conv1", List.of("conv1", "bn1")));
        int expansion = config.block().expansion();
        int inplanes = stem;
        for (int s = 0; s < 4; s++) {
            int planes = config.planes()[s];
            int out = planes * expansion;
            units.add(new Topology.Unit("layer" + (s + 1), List.of("layer" + (s + 1))));
            for (int b = 0; b < config.layers()[s]; b++) {
                int stride = b == 0 && s > 0 ? 2 : 1;
                Topology.ConvBn shortcut = b == 0 && (stride != 1 || inplanes != out)
                        ? convBn("downsample.0", "downsample.1", false, inplanes, out, 1, Conv2dSpec.of(stride, 0)) : null;
                List<Topology.ConvBn> path;
                if (config.block() == BlockType.BASIC) {
                    path = List.of(convBn("conv1", "bn1", true, inplanes, planes, 3, Conv2dSpec.of(stride, 1)),
                            convBn("conv2", "bn2", true, planes, planes, 3, Conv2dSpec.of(1, 1)));
                } else {
                    int width = Bottleneck.innerWidth(planes, config.groups(), config.widthPerGroup());
                    path = List.of(convBn("conv1", "bn1", true, inplanes, width, 1, Conv2dSpec.of(1, 0)),
                            convBn("conv2", "bn2", true, width, width, 3, Conv2dSpec.of(stride, 1, 1, config.groups())),
                            convBn("conv3", "bn3", true, width, out, 1, Conv2dSpec.of(1, 0)));
                }
                layers.add(new Topology.Residual("layer" + (s + 1) + "." + b, path, shortcut));
                inplanes = out;
            }
        }
        units.add(new Topology.Unit("fc", List.of("fc")));
        // discriminative learning rates: stem..layer2, layer3..layer4, fc (fastai's three groups)
        return new Topology(RESNET, layers, layers.size() - 1, "fc", config.featureWidth(), config.numClasses(), units, 3);
    }

    /** A convolution + batch norm inside a block (the relu, when there is one, is the block's). */
    private static Topology.ConvBn convBn(String conv, String bn, boolean relu, int in, int out, int kernel, Conv2dSpec spec) {
        return new Topology.ConvBn(conv, bn, null, relu, in, out, kernel, spec, false);
    }

    // ---- cbr ----------------------------------------------------------------------------------------------------

    /**
     * Max pool after a CBR block: 3x3 stride 2 and, as PyTorch's {@code MaxPool2d(3, 2)} defaults, no padding
     * (the paper gives kernel and stride only).
     */
    public static final Pool2dSpec CBR_POOL = Pool2dSpec.of(3, 2, 0);

    private static Topology cbr(ResNetConfig config) {
        List<Topology.Layer> layers = new ArrayList<>();
        List<Topology.Unit> units = new ArrayList<>();
        int[] channels = config.planes();
        boolean[] pools = config.pools();
        int k = config.kernel();
        int i = 0;
        int in = config.inChannels();
        int cam = -1;
        for (int b = 0; b < channels.length; b++) {
            String conv = "features." + i;
            layers.add(new Topology.ConvBn(conv, "features." + (i + 1), "features." + (i + 2), true, in, channels[b], k,
                    Conv2dSpec.of(1, k / 2), false));
            units.add(new Topology.Unit(conv, List.of(conv, "features." + (i + 1))));
            cam = layers.size() - 1;
            i += 3;
            if (pools[b]) {
                layers.add(new Topology.Pool("features." + i, CBR_POOL));
                i++;
            }
            in = channels[b];
        }
        units.add(new Topology.Unit("fc", List.of("fc")));
        return new Topology(CBR, layers, cam, "fc", config.featureWidth(), config.numClasses(), units, (channels.length + 1) / 2);
    }

    /**
     * A CBR network from its keys and shapes: blocks from the convolutions {@code features.i.weight} [out, in, k, k]
     * (i = 0, then 3 or 4 on: 4 when a pool sits between), pools from the gaps between them, and whether the last
     * block is followed by one from nothing in the state dict (a pool has no tensors): the named architecture with
     * the same convolutions decides, else none.
     */
    private static ResNetConfig recognizeCbr(Map<String, Shape> shapes) {
        List<Integer> channels = new ArrayList<>();
        List<Boolean> pools = new ArrayList<>();
        int i = 0;
        int kernel = -1;
        int inChannels = -1;
        int prev = -1;
        while (true) {
            Shape w = shapes.get("features." + i + ".weight");
            if (w == null || w.rank() != 4) {
                throw notCbr(w == null ? "no key features." + i + ".weight" : "features." + i + ".weight has shape " + w);
            }
            if (kernel < 0) {
                kernel = w.dim(2);
                inChannels = w.dim(1);
            } else if (w.dim(1) != prev) {
                throw notCbr("features." + i + ".weight " + w + " does not take the " + prev + " channels before it");
            }
            if (w.dim(2) != kernel || w.dim(3) != kernel) {
                throw notCbr("features." + i + ".weight " + w + ": every block has the same square kernel, " + kernel);
            }
            Shape bn = shapes.get("features." + (i + 1) + ".weight");
            if (bn == null || !bn.equals(Shape.of(w.dim(0)))) {
                throw notCbr("features." + (i + 1) + " is not a batch norm of " + w.dim(0) + " channels");
            }
            channels.add(w.dim(0));
            prev = w.dim(0);
            if (shapes.containsKey("features." + (i + 3) + ".weight")) {
                pools.add(false);
                i += 3;
            } else if (shapes.containsKey("features." + (i + 4) + ".weight")) {
                pools.add(true);
                i += 4;
            } else {
                pools.add(false);
                break;
            }
        }
        Shape fc = shapes.get("fc.weight");
        if (fc == null || fc.rank() != 2 || fc.dim(1) != prev) {
            throw notCbr(fc == null ? "no key fc.weight" : "fc.weight " + fc + " does not take the " + prev + " pooled features");
        }
        int[] ch = channels.stream().mapToInt(Integer::intValue).toArray();
        boolean[] p = new boolean[pools.size()];
        for (int j = 0; j < p.length; j++) {
            p[j] = pools.get(j);
        }
        ResNetConfig found = ResNetConfig.cbr(kernel, ch, p).withNumClasses(fc.dim(0)).withInChannels(inChannels);
        p[p.length - 1] = true;
        ResNetConfig pooledLast = ResNetConfig.cbr(kernel, ch, p).withNumClasses(fc.dim(0)).withInChannels(inChannels);
        return pooledLast.architecture().equals("custom") ? found : pooledLast;
    }

    private static ModelException notCbr(String why) {
        return new ModelException("cannot read a CBR network from this state dict: " + why
                + " (CBR state dicts hold features.0 conv, features.1 batch norm, ... and fc; name the architecture, e.g. cbr_tiny)");
    }

    // ---- inception ------------------------------------------------------------------------------------------

    /** torchvision's BasicConv2d batch-norm epsilon ({@code nn.BatchNorm2d(out, eps=0.001)}). */
    public static final double INCEPTION_BN_EPS = 1e-3;

    /**
     * torchvision's {@code Inception3} ({@code torchvision/models/inception.py}): the stem, Mixed_5b..Mixed_7c
     * (InceptionA x3, B, C x4, D, E x2), global average pooling, dropout 0.5 (a {@link ResNet} concern) and
     * {@code fc}; {@code AuxLogits} after Mixed_6e when the configuration has it. Every convolution is a
     * BasicConv2d: conv without bias, batch norm eps 1e-3, relu.
     */
    private static Topology inception(ResNetConfig config) {
        List<Topology.Layer> layers = new ArrayList<>();
        int in = config.inChannels();
        layers.add(basic("Conv2d_1a_3x3", in, 32, 3, 3, 2, 0, 0));
        layers.add(basic("Conv2d_2a_3x3", 32, 32, 3, 3, 1, 0, 0));
        layers.add(basic("Conv2d_2b_3x3", 32, 64, 3, 3, 1, 1, 1));
        layers.add(new Topology.Pool("maxpool1", Pool2dSpec.of(3, 2, 0)));
        layers.add(basic("Conv2d_3b_1x1", 64, 80, 1, 1, 1, 0, 0));
        layers.add(basic("Conv2d_4a_3x3", 80, 192, 3, 3, 1, 0, 0));
        layers.add(new Topology.Pool("maxpool2", Pool2dSpec.of(3, 2, 0)));
        layers.add(inceptionA("Mixed_5b", 192, 32));
        layers.add(inceptionA("Mixed_5c", 256, 64));
        layers.add(inceptionA("Mixed_5d", 288, 64));
        layers.add(inceptionB("Mixed_6a", 288));
        layers.add(inceptionC("Mixed_6b", 768, 128));
        layers.add(inceptionC("Mixed_6c", 768, 160));
        layers.add(inceptionC("Mixed_6d", 768, 160));
        layers.add(inceptionC("Mixed_6e", 768, 192));
        int mixed6e = layers.size() - 1;
        layers.add(inceptionD("Mixed_7a", 768));
        layers.add(inceptionE("Mixed_7b", 1280));
        layers.add(inceptionE("Mixed_7c", 2048));
        Topology.AuxHead aux = !config.auxLogits() ? null : new Topology.AuxHead(mixed6e, List.of(
                new Topology.AvgPool("AuxLogits.avg_pool", AvgPool2dSpec.of(5, 3, 0)),
                basic("AuxLogits.conv0", 768, 128, 1, 1, 1, 0, 0),
                basic("AuxLogits.conv1", 128, 768, 5, 5, 1, 0, 0)), "AuxLogits.fc", 768);
        List<Topology.Unit> units = List.of(
                new Topology.Unit("Conv2d_1a_3x3", List.of("Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3", "Conv2d_3b_1x1",
                        "Conv2d_4a_3x3")),
                new Topology.Unit("Mixed_5b", List.of("Mixed_5b", "Mixed_5c", "Mixed_5d")),
                new Topology.Unit("Mixed_6a", List.of("Mixed_6a")),
                new Topology.Unit("Mixed_6b", List.of("Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e")),
                new Topology.Unit("Mixed_7a", List.of("Mixed_7a")),
                new Topology.Unit("Mixed_7b", List.of("Mixed_7b", "Mixed_7c")),
                new Topology.Unit("fc", config.auxLogits() ? List.of("fc", "AuxLogits") : List.of("fc")));
        // discriminative learning rates: stem..Mixed_6a, Mixed_6b..Mixed_7c, fc (with AuxLogits)
        return new Topology(INCEPTION, layers, layers.size() - 1, "fc", config.featureWidth(), config.numClasses(), units, 3, aux);
    }

    /** torchvision's BasicConv2d {@code name} (name.conv, name.bn), kernel kh x kw, padding (ph, pw). */
    private static Topology.ConvBn basic(String name, int in, int out, int kh, int kw, int stride, int ph, int pw) {
        return new Topology.ConvBn(name + ".conv", name + ".bn", null, true, in, out, kh,
                new Conv2dSpec(stride, stride, ph, pw, 1, 1, 1), false, kw, INCEPTION_BN_EPS);
    }

    private static Topology.Layer branchPool() {
        return new Topology.AvgPool("avg_pool", AvgPool2dSpec.of(3, 1, 1)); // F.avg_pool2d(x, 3, 1, 1): count_include_pad
    }

    private static Topology.Branches inceptionA(String name, int in, int poolFeatures) {
        return new Topology.Branches(name, List.of(
                List.of(basic("branch1x1", in, 64, 1, 1, 1, 0, 0)),
                List.of(basic("branch5x5_1", in, 48, 1, 1, 1, 0, 0), basic("branch5x5_2", 48, 64, 5, 5, 1, 2, 2)),
                List.of(basic("branch3x3dbl_1", in, 64, 1, 1, 1, 0, 0), basic("branch3x3dbl_2", 64, 96, 3, 3, 1, 1, 1),
                        basic("branch3x3dbl_3", 96, 96, 3, 3, 1, 1, 1)),
                List.of(branchPool(), basic("branch_pool", in, poolFeatures, 1, 1, 1, 0, 0))));
    }

    private static Topology.Branches inceptionB(String name, int in) {
        return new Topology.Branches(name, List.of(
                List.of(basic("branch3x3", in, 384, 3, 3, 2, 0, 0)),
                List.of(basic("branch3x3dbl_1", in, 64, 1, 1, 1, 0, 0), basic("branch3x3dbl_2", 64, 96, 3, 3, 1, 1, 1),
                        basic("branch3x3dbl_3", 96, 96, 3, 3, 2, 0, 0)),
                List.of(new Topology.Pool("max_pool", Pool2dSpec.of(3, 2, 0)))));
    }

    private static Topology.Branches inceptionC(String name, int in, int c7) {
        return new Topology.Branches(name, List.of(
                List.of(basic("branch1x1", in, 192, 1, 1, 1, 0, 0)),
                List.of(basic("branch7x7_1", in, c7, 1, 1, 1, 0, 0), basic("branch7x7_2", c7, c7, 1, 7, 1, 0, 3),
                        basic("branch7x7_3", c7, 192, 7, 1, 1, 3, 0)),
                List.of(basic("branch7x7dbl_1", in, c7, 1, 1, 1, 0, 0), basic("branch7x7dbl_2", c7, c7, 7, 1, 1, 3, 0),
                        basic("branch7x7dbl_3", c7, c7, 1, 7, 1, 0, 3), basic("branch7x7dbl_4", c7, c7, 7, 1, 1, 3, 0),
                        basic("branch7x7dbl_5", c7, 192, 1, 7, 1, 0, 3)),
                List.of(branchPool(), basic("branch_pool", in, 192, 1, 1, 1, 0, 0))));
    }

    private static Topology.Branches inceptionD(String name, int in) {
        return new Topology.Branches(name, List.of(
                List.of(basic("branch3x3_1", in, 192, 1, 1, 1, 0, 0), basic("branch3x3_2", 192, 320, 3, 3, 2, 0, 0)),
                List.of(basic("branch7x7x3_1", in, 192, 1, 1, 1, 0, 0), basic("branch7x7x3_2", 192, 192, 1, 7, 1, 0, 3),
                        basic("branch7x7x3_3", 192, 192, 7, 1, 1, 3, 0), basic("branch7x7x3_4", 192, 192, 3, 3, 2, 0, 0)),
                List.of(new Topology.Pool("max_pool", Pool2dSpec.of(3, 2, 0)))));
    }

    private static Topology.Branches inceptionE(String name, int in) {
        return new Topology.Branches(name, List.of(
                List.of(basic("branch1x1", in, 320, 1, 1, 1, 0, 0)),
                List.of(basic("branch3x3_1", in, 384, 1, 1, 1, 0, 0), new Topology.Branches("", List.of(
                        List.of(basic("branch3x3_2a", 384, 384, 1, 3, 1, 0, 1)),
                        List.of(basic("branch3x3_2b", 384, 384, 3, 1, 1, 1, 0))))),
                List.of(basic("branch3x3dbl_1", in, 448, 1, 1, 1, 0, 0), basic("branch3x3dbl_2", 448, 384, 3, 3, 1, 1, 1),
                        new Topology.Branches("", List.of(
                                List.of(basic("branch3x3dbl_3a", 384, 384, 1, 3, 1, 0, 1)),
                                List.of(basic("branch3x3dbl_3b", 384, 384, 3, 1, 1, 1, 0))))),
                List.of(branchPool(), basic("branch_pool", in, 192, 1, 1, 1, 0, 0))));
    }

    /**
     * An InceptionV3 state dict: classes from {@code fc.weight}, input channels from {@code Conv2d_1a_3x3.conv.weight},
     * the auxiliary head from whether {@code AuxLogits.fc.weight} is there. {@code transform_input} leaves no tensor:
     * a 3-channel network is taken to expect it, as torchvision's published weights do.
     */
    private static ResNetConfig recognizeInception(Map<String, Shape> shapes) {
        Shape stem = shapes.get("Conv2d_1a_3x3.conv.weight");
        Shape fc = shapes.get("fc.weight");
        if (stem == null || stem.rank() != 4 || fc == null || fc.rank() != 2) {
            throw new ModelException("this state dict has InceptionV3's Mixed_5b but no " + (stem == null || stem.rank() != 4
                    ? "Conv2d_1a_3x3.conv.weight [32, C, 3, 3]" : "fc.weight [classes, 2048]") + "; is it truncated?");
        }
        int in = stem.dim(1);
        return ResNetConfig.inception(in == 3, shapes.containsKey("AuxLogits.fc.weight")).withNumClasses(fc.dim(0)).withInChannels(in);
    }
}
