package dev.graft.models;

import dev.graft.engine.DType;
import dev.graft.engine.Device;
import dev.graft.engine.Functional;
import dev.graft.engine.Grad;
import dev.graft.engine.Scope;
import dev.graft.engine.StateDict;
import dev.graft.engine.Tensor;
import dev.graft.engine.backend.Conv2dSpec;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.UnaryOperator;

/**
 * A network of the {@link Architectures} registry, built from its {@link Topology} (the class keeps its first
 * family's name): torchvision's ResNet family (resnet18/34/50/101/152, resnext50_32x4d, resnext101_32x8d, wide_resnet50_2,
 * wide_resnet101_2, or any {@link ResNetConfig}): conv1 bn1 relu maxpool, layer1..layer4, avgpool, fc, with
 * torchvision's keys, shapes, order and forward pass; or Transfusion's CBR networks ({@code cbr_tiny}, {@code cbr_small},
 * {@code cbr_large_t}, {@code cbr_large_w}: {@code features.*}, avgpool, fc).
 *
 * <p>The model owns a detached {@link Scope} for its parameters, buffers and their gradients; close the model
 * to free them. Activations of a forward pass belong to whatever scope is open when it runs (one per step).
 * Build on one thread and use it there (scopes are per thread).
 */
public final class ResNet extends Module implements AutoCloseable {
    /** File-metadata keys written by {@link #metadata()}. */
    public static final String META_ARCHITECTURE = "graft.architecture";
    public static final String META_CONFIG = "graft.resnet";
    public static final String META_BATCHNORM_POLICY = "graft.batchnorm_policy";

    /**
     * The smallest input InceptionV3's auxiliary head runs on: Mixed_6e's map must be at least 17 px for
     * {@code avg_pool2d(5, 3)} then a 5x5 convolution (torchvision's 299 x 299).
     */
    public static final int AUX_MIN_IMAGE_SIZE = 299;

    private final Scope scope;
    private final Device device;
    private final DType dtype;
    private ResNetConfig config;
    private final Topology topology;
    private final Conv2d conv1;
    /** One step per declared layer, in order; the output of {@code body.get(topology.camLayer())} is the feature map. */
    private final List<UnaryOperator<Tensor>> body = new ArrayList<>();
    private final AdaptiveAvgPool2d avgpool;
    private Linear fc;
    private long headSeed;
    private boolean fusedInference = true;
    private InferencePlan inferencePlan;
    /** InceptionV3: the auxiliary head's layers and {@code AuxLogits.fc} (null without one). */
    private final List<UnaryOperator<Tensor>> auxBody = new ArrayList<>();
    private Linear auxFc;
    private boolean auxTraining = true;
    private Tensor auxLogits;
    /** InceptionV3's {@code transform_input} as a fixed depthwise 1x1 convolution [3, 1, 1, 1] + bias (null when off). */
    private Tensor transformWeight;
    private Tensor transformBias;
    /** Dropout before {@code fc} in training (InceptionV3: 0.5, torchvision's default; others 0). */
    private double dropout;
    private SplittableRandom dropoutRng = new SplittableRandom(0);
    private SwinTransformer.DepthDrop swinDrop;
    /** A plain vision transformer's body (null for the other families). */
    private VisionTransformer.Body vitBody;

    /** Builds the modules {@code config}'s {@link Topology} declares, registered in PyTorch's order and names. */
    private ResNet(ResNetConfig config, Device device, DType dtype) {
        this.config = config;
        this.device = device;
        this.dtype = dtype;
        this.topology = config.topology();
        this.scope = Scope.detached(config.architecture());
        try (Scope.Entered in = scope.enter()) {
            if (config.isInception() && config.transformInput()) {
                double[][] t = transformInput();
                transformWeight = Tensor.fromArray(device, dtype, t[0], 3, 1, 1, 1);
                transformBias = Tensor.fromArray(device, dtype, t[1], 3);
            }
            for (int i = 0; i < topology.layers().size(); i++) {
                body.add(build(topology.layers().get(i)));
                if (topology.aux() != null && topology.aux().afterLayer() == i) { // registered where torchvision registers AuxLogits
                    for (Topology.Layer l : topology.aux().layers()) {
                        auxBody.add(piece("", l));
                    }
                    auxFc = place(topology.aux().fc(), new Linear(topology.aux().width(), config.numClasses(), true, device, dtype));
                }
            }
            conv1 = (Conv2d) module(config.isVit() ? config.vitConfig().naming().patchEmbed // a ViT's patch embedding
                    : topology.convolutions().isEmpty() ? "features.0.0" // Swin's patch embedding
                    : topology.convolutions().get(0).conv());
            avgpool = registerModule("avgpool", new AdaptiveAvgPool2d());
            fc = place(topology.fc(), new Linear(config.featureWidth(), config.numClasses(), true, device, dtype));
            dropout = config.isInception() ? 0.5 : 0;
        } catch (RuntimeException e) {
            scope.close();
            throw e;
        }
    }

    /** Registers one declared layer's modules and returns how the forward pass runs it on its input. */
    private UnaryOperator<Tensor> build(Topology.Layer layer) {
        boolean first = body.isEmpty(); // the caller's images are not ours to free
        if (layer instanceof Topology.Swin s) {
            return buildSwin(s);
        }
        if (layer instanceof Topology.ViT v) {
            return buildVit(v);
        }
        if (layer instanceof Topology.ConvBn c) {
            Conv2d conv = place(c.conv(), conv2d(c));
            BatchNorm2d bn = place(c.bn(), new BatchNorm2d(c.out(), c.eps(), device, dtype));
            if (c.reluModule() != null) {
                place(c.reluModule(), new ReLU()); // as PyTorch registers it; the forward pass fuses it into the batch norm
            }
            UnaryOperator<Tensor> piece = c.relu() ? t -> bn.forwardRelu(conv.forward(t)) : t -> bn.forward(conv.forward(t));
            return first ? x -> Stages.run(() -> piece.apply(x)) : x -> Stages.consume(x, piece);
        }
        if (layer instanceof Topology.Pool p) {
            MaxPool2d pool = place(p.name(), new MaxPool2d(p.spec().kernelH(), p.spec().strideH(), p.spec().padH()));
            return x -> Stages.consume(x, pool::forward);
        }
        if (layer instanceof Topology.Branches || layer instanceof Topology.AvgPool) {
            UnaryOperator<Tensor> piece = piece("", layer);
            return first ? x -> Stages.run(() -> piece.apply(x)) : x -> Stages.consume(x, piece);
        }
        Topology.Residual r = (Topology.Residual) layer;
        Module downsample = r.shortcut() == null ? null
                : new Sequential(conv2d(r.shortcut()), new BatchNorm2d(r.shortcut().out(), device, dtype));
        List<Topology.ConvBn> path = r.path();
        Topology.ConvBn head = path.get(0);
        Module block = path.size() == 2
                ? new BasicBlock(head.in(), head.out(), head.spec().strideH(), downsample, device, dtype)
                : new Bottleneck(head.in(), head.out(), path.get(2).out(), path.get(1).spec().strideH(),
                path.get(1).spec().groups(), downsample, device, dtype);
        for (Topology.ConvBn c : path) { // the block classes name their layers as the declaration does
            if (!(block.children().get(c.conv()) instanceof Conv2d) || !(block.children().get(c.bn()) instanceof BatchNorm2d)) {
                throw new ModelException(r.name() + ": the declared " + c.conv() + "/" + c.bn() + " is not a layer of " + block);
            }
        }
        place(r.name(), block);
        return x -> Stages.consume(x, block::forward);
    }

    /**
     * A layer inside a block (or the auxiliary head), registered under {@code prefix} and run on its input without
     * taking it over (the block's other branches read it too): a BasicConv2d, a functional max or average pool, or
     * parallel branches concatenated on channels.
     */
    private UnaryOperator<Tensor> piece(String prefix, Topology.Layer layer) {
        if (layer instanceof Topology.ConvBn c) {
            Conv2d conv = place(Topology.join(prefix, c.conv()), conv2d(c));
            BatchNorm2d bn = place(Topology.join(prefix, c.bn()), new BatchNorm2d(c.out(), c.eps(), device, dtype));
            return c.relu() ? t -> bn.forwardRelu(conv.forward(t)) : t -> bn.forward(conv.forward(t));
        }
        if (layer instanceof Topology.Pool p) {
            return t -> Functional.maxPool2d(t, p.spec());
        }
        if (layer instanceof Topology.AvgPool a) {
            return t -> Functional.avgPool2d(t, a.spec());
        }
        if (layer instanceof Topology.Branches b) {
            String base = Topology.join(prefix, b.name());
            List<List<UnaryOperator<Tensor>>> branches = new ArrayList<>();
            for (List<Topology.Layer> branch : b.branches()) {
                List<UnaryOperator<Tensor>> ops = new ArrayList<>();
                for (Topology.Layer l : branch) {
                    ops.add(piece(base, l));
                }
                branches.add(ops);
            }
            return t -> {
                Tensor[] outs = new Tensor[branches.size()];
                for (int i = 0; i < outs.length; i++) {
                    Tensor y = t;
                    for (UnaryOperator<Tensor> op : branches.get(i)) {
                        y = op.apply(y);
                    }
                    outs[i] = y;
                }
                return Functional.concatChannels(outs);
            };
        }
        throw new ModelException(layer + " cannot sit inside a block");
    }

    /** A Swin body ({@code features}, {@code norm}) run unfused through its modules; output channels first. */
    private UnaryOperator<Tensor> buildSwin(Topology.Swin s) {
        swinDrop = new SwinTransformer.DepthDrop();
        Module features = registerModule("features", SwinTransformer.buildFeatures(s.config(), swinDrop, device, dtype));
        Module norm = registerModule("norm", SwinTransformer.buildNorm(s.config(), device, dtype));
        return x -> Functional.permute(norm.forward(features.forward(x)), 0, 3, 1, 2);
    }

    /**
     * A plain vision transformer's body (class token, patch embedding, position embedding, blocks, final norm) run
     * unfused through its modules; output the normalised class token as [N, hidden, 1, 1].
     */
    private UnaryOperator<Tensor> buildVit(Topology.ViT v) {
        vitBody = new VisionTransformer.Body(this, v.config(), device, dtype);
        int c = v.config().hidden();
        return x -> Functional.reshape(vitBody.features(x), x.dim(0), c, 1, 1);
    }

    /** The vision transformer's body, or null for the other families ({@link Init} initialises it). */
    VisionTransformer.Body vitBody() {
        return vitBody;
    }

    /** Swin only: seeds stochastic depth's per-sample draws (no effect on the other families). */
    public ResNet seedStochasticDepth(long seed) {
        if (swinDrop != null) {
            swinDrop.rng = new java.util.SplittableRandom(seed);
        }
        return this;
    }

    private Conv2d conv2d(Topology.ConvBn c) {
        if (c.kernelW() != c.kernel() || c.spec().strideW() != c.spec().strideH() || c.spec().padW() != c.spec().padH()) {
            return new Conv2d(c.in(), c.out(), c.kernel(), c.kernelW(), c.spec(), c.convBias(), device, dtype);
        }
        return new Conv2d(c.in(), c.out(), c.kernel(), c.spec().strideH(), c.spec().padH(), c.spec().groups(), c.convBias(),
                device, dtype);
    }

    /**
     * Registers {@code m} at a dotted path, making the containers on the way ({@code layer1.0},
     * {@code Mixed_5b.branch1x1.conv}): each missing one a {@link Sequential} used only as a named container.
     */
    private <M extends Module> M place(String path, M m) {
        String[] parts = path.split("\\.");
        if (parts.length == 1) {
            return registerModule(path, m);
        }
        Module container = children().get(parts[0]);
        if (container == null) {
            container = registerModule(parts[0], new Sequential());
        }
        for (int i = 1; i < parts.length - 1; i++) {
            Module next = container.children().get(parts[i]);
            if (next == null) {
                next = new Sequential();
                appendTo(container, parts[i], next, path);
            }
            container = next;
        }
        appendTo(container, parts[parts.length - 1], m, path);
        return m;
    }

    private static void appendTo(Module container, String name, Module m, String path) {
        if (!(container instanceof Sequential s)) {
            throw new ModelException("declared name '" + path + "' places a layer inside " + container + ", which is not a container");
        }
        s.append(name, m);
    }

    /** torchvision's {@code _transform_input}: x_c * (std_c / 0.5) + (mean_c - 0.5) / 0.5, ImageNet's mean and std. */
    static double[][] transformInput() {
        double[] mean = {0.485, 0.456, 0.406};
        double[] std = {0.229, 0.224, 0.225};
        double[] w = new double[3];
        double[] b = new double[3];
        for (int c = 0; c < 3; c++) {
            w[c] = std[c] / 0.5;
            b[c] = (mean[c] - 0.5) / 0.5;
        }
        return new double[][] {w, b};
    }

    // ---- construction -------------------------------------------------------------------------------------

    /** A builder for a named architecture ({@link Architectures#names()}). */
    public static ResNetBuilder builder(String architecture) {
        return new ResNetBuilder(ResNetConfig.named(architecture, 1000));
    }

    public static ResNetBuilder builder(ResNetConfig config) {
        return new ResNetBuilder(config);
    }

    /** Allocates the layers (zeros; BN weight 1, running var 1) in a new scope; {@link ResNetBuilder} initialises. */
    static ResNet allocate(ResNetConfig config, Device device, DType dtype, long headSeed) {
        ResNet m = new ResNet(config, device, dtype);
        m.headSeed = headSeed;
        return m;
    }

    /**
     * A model for {@code state}: its architecture from the {@link #META_CONFIG} metadata when present, else
     * inferred from keys and shapes ({@link ArchitectureInference}); loaded strictly; the batch-norm policy
     * restored from {@link #META_BATCHNORM_POLICY} when present.
     */
    public static ResNet fromStateDict(StateDict state, Device device) {
        return fromStateDict(state, configOf(state), device);
    }

    /** The architecture of {@code state}: its {@link #META_CONFIG} line, else inferred from the keys and shapes. */
    public static ResNetConfig configOf(StateDict state) {
        String described = state.metadata().get(META_CONFIG);
        return described != null ? ResNetConfig.parse(described) : ArchitectureInference.infer(state);
    }

    /** As {@link #fromStateDict(StateDict, Device)} with the architecture given (classes and channels still read from the keys). */
    public static ResNet fromStateDict(StateDict state, String architecture, Device device) {
        return fromStateDict(state, configOf(state, architecture), device);
    }

    /** The named {@code architecture} with the classes and channels (and InceptionV3's auxiliary head) {@code state} has. */
    public static ResNetConfig configOf(StateDict state, String architecture) {
        ResNetConfig inferred = ArchitectureInference.infer(state);
        ResNetConfig named = ResNetConfig.named(architecture, inferred.numClasses()).withInChannels(inferred.inChannels());
        if (named.isInception() && inferred.isInception()) { // a file without AuxLogits.* is the network without its auxiliary head
            named = named.withAuxLogits(inferred.auxLogits());
        }
        return named;
    }

    /**
     * A model of {@code config} with {@code state} loaded strictly (a ViT's position embedding interpolated when
     * {@code config} is for another image size); the batch-norm policy restored from the metadata when present.
     */
    public static ResNet fromStateDict(StateDict state, ResNetConfig config, Device device) {
        ResNet m = builder(config).device(device).initialize(false).build();
        try {
            m.load(state, true);
            String policy = state.metadata().get(META_BATCHNORM_POLICY);
            if (policy != null) {
                m.setBatchNormPolicy(BatchNormPolicy.parse(policy));
            }
            return m;
        } catch (RuntimeException e) {
            m.close();
            throw e;
        }
    }

    // ---- forward ----------------------------------------------------------------------------------------

    /**
     * Logits [N, classes] for images [N, inChannels, H, W]. In eval mode, when nothing is recorded (grad off, or
     * neither the input nor any parameter requires grad), this runs the {@link #inferencePlan()}: batch norm
     * folded into the convolutions, bias, shortcut and relu fused; {@link #setFusedInference} turns that off.
     */
    @Override
    public Tensor forward(Tensor x) {
        if (runsFused(x)) {
            return inferencePlan().forward(x);
        }
        Tensor f = features(x);
        if (dropout > 0 && isTraining()) {
            f = Functional.dropout(f, dropout, true, dropoutRng);
        }
        return fc.forward(f);
    }

    /**
     * The auxiliary logits of the last training-mode forward pass (InceptionV3's {@code AuxLogits}), then forgets
     * them; null when none were computed (eval mode, no auxiliary head, or {@link #setAuxTraining} off).
     */
    public Tensor takeAuxLogits() {
        Tensor a = auxLogits;
        auxLogits = null;
        return a;
    }

    /** Whether training-mode forward passes run the auxiliary head (default on when the network has one). */
    public ResNet setAuxTraining(boolean on) {
        auxTraining = on;
        return this;
    }

    /** The fixed transform_input convolution's weight [3, 1, 1, 1] and bias [3], or null (the inference plan runs it too). */
    Tensor[] transformInputTensors() {
        return transformWeight == null ? null : new Tensor[] {transformWeight, transformBias};
    }

    /** Whether the network has an auxiliary head (InceptionV3's {@code AuxLogits}). */
    public boolean hasAuxHead() {
        return auxFc != null;
    }

    /** The dropout probability before {@code fc} in training (InceptionV3: 0.5). */
    public ResNet setDropout(double p, long seed) {
        if (!(p >= 0 && p < 1)) {
            throw new ModelException("dropout must be in [0, 1), got " + p);
        }
        dropout = p;
        dropoutRng = new SplittableRandom(seed);
        return this;
    }

    public double dropout() {
        return dropout;
    }

    /** Pooled features [N, featureWidth] that feed {@code fc} (for caching a frozen backbone's output). */
    public Tensor features(Tensor x) {
        if (runsFused(x)) {
            return inferencePlan().features(x);
        }
        return Stages.consume(tail(featureMap(x), true), avgpool::forward).flatten(1);
    }

    /**
     * The last convolutional stage's output [N, featureWidth, h, w]: {@code layer4} after its last block, before
     * {@code avgpool} (the layer Grad-CAM reads; {@code forward(x)} is {@link #head} of this). Fused as
     * {@link #forward} is when nothing is recorded.
     */
    public Tensor featureMap(Tensor x) {
        if (runsFused(x)) {
            return inferencePlan().featureMap(x);
        }
        if (x.shape().rank() != 4 || x.dim(1) != config.inChannels()) {
            throw new ModelException(config.architecture() + " expects images [N, " + config.inChannels()
                    + ", H, W], got " + x.shape() + (x.shape().rank() == 4 && x.dim(1) == 3 && config.inChannels() == 1
                    ? " (the model was adapted to grayscale: pass one channel)" : ""));
        }
        // Each block (and inside it each convolution + batch norm) runs as a Stage that also takes over its input:
        // what no backward reads (the last batch norm's output, which only the fused add + relu reads; a block's
        // input once the next block has run) is freed when the stage returns, and what backward reads is freed as
        // soon as the backward pass has used it. Without a recorded graph (frozen backbone, inference) the forward
        // pass holds about one block's values at a time.
        Tensor y = x;
        if (transformWeight != null) { // the first layer then runs on this value as it would on the caller's images
            y = Stages.run(() -> Functional.conv2d(x, transformWeight, transformBias, Conv2dSpec.of(1, 0, 1, 3)));
        }
        auxLogits = null;
        boolean aux = auxFc != null && auxTraining && isTraining();
        for (int i = 0; i <= topology.camLayer(); i++) {
            y = body.get(i).apply(y);
            if (aux && topology.aux().afterLayer() == i) {
                Tensor a = y;
                for (UnaryOperator<Tensor> op : auxBody) {
                    a = op.apply(a);
                }
                auxLogits = auxFc.forward(avgpool.forward(a).flatten(1));
            }
        }
        return y;
    }

    /** The declared layers after the feature map (a CBR network's last pool), before {@code avgpool}. */
    private Tensor tail(Tensor featureMap, boolean consume) {
        Tensor y = featureMap;
        for (int i = topology.camLayer() + 1; i < body.size(); i++) {
            y = consume ? body.get(i).apply(y) : ((MaxPool2d) module(((Topology.Pool) topology.layers().get(i)).name())).forward(y);
        }
        return y;
    }

    /** Logits [N, classes] from a {@link #featureMap}: {@code avgpool}, flatten, {@code fc}, as {@link #forward}. */
    public Tensor head(Tensor featureMap) {
        return fc.forward(avgpool.forward(tail(featureMap, false)).flatten(1));
    }

    /** Whether eval-mode forward passes that record nothing may run the fused {@link #inferencePlan()} (default on). */
    public ResNet setFusedInference(boolean on) {
        fusedInference = on;
        return this;
    }

    public boolean fusedInference() {
        return fusedInference;
    }

    /**
     * This model compiled for inference, built on first use and refolded whenever parameters or running statistics
     * change; it lives as long as the model. See {@link InferencePlan}.
     */
    public InferencePlan inferencePlan() {
        if (inferencePlan == null) {
            inferencePlan = InferencePlan.compile(this);
        }
        return inferencePlan;
    }

    /** Eval mode everywhere (no batch norm uses batch statistics) and nothing would be recorded. */
    private boolean runsFused(Tensor x) {
        if (!fusedInference || isTraining() || config.isTransformer()) { // Swin and ViT run unfused through their modules
            return false;
        }
        if (Grad.enabled() && x.requiresGrad()) {
            return false;
        }
        for (Module m : namedModules().values()) {
            if (m instanceof BatchNorm2d bn && bn.usesBatchStatistics()) {
                return false;
            }
        }
        if (Grad.enabled()) {
            for (Parameter p : namedParameters().values()) {
                if (p.tensor().requiresGrad()) {
                    return false;
                }
            }
        }
        return true;
    }

    /**
     * As {@link Module#load}; a Swin's {@code relative_position_index} buffers must equal the recomputed ones; a ViT
     * takes torchvision's legacy MLP names and a position embedding made for another image size (interpolated,
     * {@link VisionTransformer#load}).
     */
    @Override
    public LoadReport load(StateDict state, boolean strict) {
        if (config.isSwin()) {
            SwinTransformer.checkIndexes(state, config.swinConfig());
        }
        if (config.isVit()) {
            state = VisionTransformer.adapt(state, config.vitConfig());
        }
        return super.load(state, strict);
    }

    /**
     * As {@link Module#freezeUpTo}; for a vision transformer a freezing unit's name ({@link Topology#units()}) freezes
     * exactly the units before it and trains the rest, so the embedding unit's class token and position embedding
     * (tensors outside the patch convolution's module) go with it, and the final-norm unit trains the head too.
     */
    @Override
    public ResNet freezeUpTo(String name) {
        List<Topology.Unit> units = topology().units();
        int at = config.isVit() ? topology().unitNames().indexOf(name) : -1;
        if (at < 0) {
            super.freezeUpTo(name);
            return this;
        }
        unfreeze();
        List<String> frozen = new ArrayList<>();
        units.subList(0, at).forEach(u -> frozen.addAll(u.modules()));
        if (!frozen.isEmpty()) {
            freeze(frozen.toArray(String[]::new));
        }
        return this;
    }

    // ---- surgery ----------------------------------------------------------------------------------------

    /**
     * A new {@code fc} for {@code numClasses}, initialised like a fresh {@code nn.Linear}, trainable, in the
     * model's scope; the old head is freed. Build optimizers after this call.
     */
    public ResNet replaceHead(int numClasses) {
        return replaceHead(numClasses, headSeed++);
    }

    public ResNet replaceHead(int numClasses, long seed) {
        Linear old = fc;
        try (Scope.Entered in = scope.enter()) {
            Linear head = new Linear(config.featureWidth(), numClasses, true, device, dtype);
            Init.linearDefault(head, new SplittableRandom(seed));
            fc = place(topology.fc(), head);
        }
        for (Parameter p : old.namedParameters().values()) {
            p.tensor().close();
        }
        if (auxFc != null) { // the auxiliary head predicts the same classes
            Linear oldAux = auxFc;
            try (Scope.Entered in = scope.enter()) {
                Linear head = new Linear(topology.aux().width(), numClasses, true, device, dtype);
                Init.truncatedNormal(head.weight().tensor(), Init.INCEPTION_AUX_FC_STD, new SplittableRandom(seed ^ 0x5DEECE66DL));
                Init.linearBias(head, new SplittableRandom(seed + 7));
                auxFc = place(topology.aux().fc(), head);
            }
            for (Parameter p : oldAux.namedParameters().values()) {
                p.tensor().close();
            }
        }
        config = config.withNumClasses(numClasses);
        return this;
    }

    /**
     * Turns the RGB stem into a one-channel stem by summing conv1's kernels over R, G and B (timm's
     * {@code in_chans=1}, fastai's {@code n_in=1}): a gray image then gives the logits the RGB model gives
     * that image replicated to three channels. Call after loading RGB weights, before building optimizers.
     */
    public ResNet adaptToGrayscale() {
        if (config.inChannels() == 1) {
            return this;
        }
        if (config.inChannels() != 3) {
            throw new ModelException("adaptToGrayscale needs an RGB stem, this one takes " + config.inChannels() + " channels");
        }
        if (transformWeight != null) {
            throw new ModelException("adaptToGrayscale: this InceptionV3 re-normalises each RGB channel first (transform_input); "
                    + "feed gray images replicated to three channels instead");
        }
        conv1.sumInputChannels();
        config = config.withInChannels(1);
        return this;
    }

    // ---- description ------------------------------------------------------------------------------------

    public ResNetConfig config() {
        return config;
    }

    public Device device() {
        return device;
    }

    public DType dtype() {
        return dtype;
    }

    public Linear fc() {
        return fc;
    }

    /** The first convolution ({@code conv1}, or a CBR network's {@code features.0}). */
    public Conv2d conv1() {
        return conv1;
    }

    /**
     * This network's layers as declared by the {@link Architectures registry}, for its current configuration (a
     * replaced head or a grayscale stem changes the declared widths, not the layers).
     */
    public Topology topology() {
        return config.topology();
    }

    /** Architecture name, full configuration and batch-norm policy, for file metadata. */
    @Override
    public Map<String, String> metadata() {
        Map<String, String> m = super.metadata();
        m.put(META_ARCHITECTURE, config.architecture());
        m.put(META_CONFIG, config.describe());
        if (config.isVit()) { // the same line under the key VisionTransformer and graft forward read
            m.put(VisionTransformer.META_CONFIG, config.describe());
        }
        m.put(META_BATCHNORM_POLICY, batchNormPolicy().metadataValue());
        return m;
    }

    /** Bytes of parameter, buffer and gradient storage the model's scope holds. */
    public long liveBytes() {
        return scope.liveBytes();
    }

    /** Frees every parameter, buffer and gradient. */
    @Override
    public void close() {
        if (inferencePlan != null) {
            inferencePlan.close();
        }
        scope.close();
    }

    @Override
    public String toString() {
        return config + " on " + device + ", batch norm " + batchNormPolicy().metadataValue();
    }
}
