package dev.graft.models;

import dev.graft.engine.DType;
import dev.graft.engine.Device;
import dev.graft.engine.Functional;
import dev.graft.engine.HostTensor;
import dev.graft.engine.PositionEmbeddings;
import dev.graft.engine.Scope;
import dev.graft.engine.Shape;
import dev.graft.engine.StateDict;
import dev.graft.engine.Tensor;
import dev.graft.engine.backend.Conv2dSpec;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.random.RandomGenerator;

/**
 * A plain vision transformer ({@link ViTConfig}): torchvision's {@code vit_b_16}, {@code vit_b_32}, {@code vit_l_16}
 * with torchvision's state-dict names, or DeiT-S ({@code deit_s}) with timm's. One computation; the
 * {@link ViTConfig.Naming} only decides where each module is registered, so {@code stateDict()} keys, order and
 * shapes equal the original's. Dropout and stochastic depth are 0 (torchvision's and timm's defaults), so train and
 * eval forward passes agree; it runs unfused through the modules (no inference plan).
 *
 * <p>Owns a detached {@link Scope} for its parameters and their gradients; close the model to free them.
 */
public final class VisionTransformer extends Module implements AutoCloseable {
    public static final String META_CONFIG = "graft.vit";

    private final Scope scope;
    private final Device device;
    private final DType dtype;
    private ViTConfig config;
    private final Parameter classToken;
    private final Parameter posEmbed;
    private final Conv2d patchEmbed;
    private final List<Block> blocks = new ArrayList<>();
    private final LayerNorm norm;
    private Linear head;
    private Body body;

    private VisionTransformer(ViTConfig config, Device device, DType dtype) {
        this.config = config;
        this.device = device;
        this.dtype = dtype;
        this.scope = Scope.detached(config.architecture());
        try (Scope.Entered in = scope.enter()) {
            Body b = new Body(this, config, device, dtype);
            body = b;
            classToken = b.classToken;
            patchEmbed = b.patchEmbed;
            posEmbed = b.posEmbed;
            blocks.addAll(b.blocks);
            norm = b.norm;
            head = place(this, config.naming().head, new Linear(config.hidden(), config.numClasses(), true, device, dtype));
        } catch (RuntimeException e) {
            scope.close();
            throw e;
        }
    }

    /**
     * Everything but the head (class token, patch embedding, position embedding, blocks, final norm), registered
     * into {@code host} under the naming's paths in torchvision's / timm's key order: parameters of a module before
     * its children. The registry's {@link ResNet} holds one of these for a {@link Topology.ViT} layer, this class
     * another; the forward pass is the same code.
     */
    static final class Body {
        final ViTConfig config;
        final Parameter classToken;
        final Parameter posEmbed;
        final Conv2d patchEmbed;
        final List<Block> blocks = new ArrayList<>();
        final LayerNorm norm;
        private final Device device;
        private final DType dtype;

        Body(Module host, ViTConfig config, Device device, DType dtype) {
            this.config = config;
            this.device = device;
            this.dtype = dtype;
            ViTConfig.Naming n = config.naming();
            int c = config.hidden();
            classToken = placeParameter(host, n.classToken, Tensor.zeros(device, dtype, 1, 1, c));
            patchEmbed = place(host, n.patchEmbed, new Conv2d(config.inChannels(), c, config.patch(), config.patch(), 0, 1, true, device, dtype));
            posEmbed = placeParameter(host, n.posEmbed, Tensor.zeros(device, dtype, 1, config.tokens(), c));
            for (int i = 0; i < config.depth(); i++) {
                blocks.add(place(host, n.block(i), new Block(config, device, dtype)));
            }
            norm = place(host, n.finalNorm, new LayerNorm(c, ViTConfig.LAYER_NORM_EPS, device, dtype));
        }

        /** Patch embedding, class token and position embedding: [N, 1 + g*g, hidden]. */
        Tensor embed(Tensor x) {
            int g = config.grid();
            int channels = patchEmbed.weight().tensor().dim(1); // 1 once the host adapted the patch convolution to grayscale
            if (x.shape().rank() != 4 || x.dim(1) != channels || x.dim(2) != config.imageSize() || x.dim(3) != config.imageSize()) {
                throw new ModelException(config.architecture() + " expects images [N, " + channels + ", " + config.imageSize()
                        + ", " + config.imageSize() + "], got " + x.shape() + " (another image size needs a model built for it; its"
                        + " position embedding is interpolated when weights load)");
            }
            int n = x.dim(0);
            int c = config.hidden();
            Tensor patches = Functional.permute(patchEmbed.forward(x), 0, 2, 3, 1); // [N, g, g, C]: token i = row * g + col
            Tensor tokens = Functional.reshape(patches, n, g * g, c);
            Tensor cls = Functional.add(Tensor.zeros(device, dtype, n, 1, c), classToken.tensor());
            return Functional.add(Functional.cat(1, cls, tokens), posEmbed.tensor());
        }

        /** The last block's output [N, tokens, hidden], before the final norm. */
        Tensor tokens(Tensor x) {
            Tensor t = embed(x);
            for (Block b : blocks) {
                t = b.forward(t);
            }
            return t;
        }

        /** The class token's output after the final layer norm [N, hidden]: what the head reads. */
        Tensor features(Tensor x) {
            Tensor t = norm.forward(tokens(x));
            return Functional.reshape(Functional.narrow(t, 1, 0, 1), x.dim(0), config.hidden());
        }

        /**
         * torchvision's {@code VisionTransformer} initialisation of everything but the head: patch convolution
         * truncated normal with std sqrt(1 / fan_in) (here a normal clipped at 2 std), bias 0; class token 0;
         * position embedding N(0, 0.02); attention q/k/v xavier-uniform, biases 0, output projection as
         * {@code nn.Linear}; MLP linears xavier-uniform with biases N(0, 1e-6); layer norms keep their 1 / 0.
         */
        void initialize(RandomGenerator rng) {
            int c = config.hidden();
            double fanIn = (double) config.inChannels() * config.patch() * config.patch();
            set(patchEmbed.weight().tensor(), i -> clippedNormal(rng, Math.sqrt(1.0 / fanIn)));
            fill(patchEmbed.bias().tensor(), 0);
            fill(classToken.tensor(), 0);
            set(posEmbed.tensor(), i -> rng.nextGaussian() * 0.02);
            for (Block b : blocks) {
                double qkvBound = Math.sqrt(6.0 / (c + 3.0 * c));
                set(b.attention.qkvWeight.tensor(), i -> rng.nextDouble(-qkvBound, qkvBound));
                fill(b.attention.qkvBias.tensor(), 0);
                Init.linearDefault(b.attention.proj, rng);
                fill(b.attention.proj.bias().tensor(), 0);
                double mlpBound = Math.sqrt(6.0 / (c + config.mlp()));
                set(b.fc1.weight().tensor(), i -> rng.nextDouble(-mlpBound, mlpBound));
                set(b.fc2.weight().tensor(), i -> rng.nextDouble(-mlpBound, mlpBound));
                set(b.fc1.bias().tensor(), i -> rng.nextGaussian() * 1e-6);
                set(b.fc2.bias().tensor(), i -> rng.nextGaussian() * 1e-6);
            }
        }

        /**
         * What Grad-CAM reads, as pytorch-grad-cam's ViT recipe takes it: A = the last block's first layer norm output
         * ({@code ln_1} / {@code norm1}) [N, tokens, hidden] (class token first), and d(logit of class c_i)/dA; the
         * logits [N, classes] through {@code head}; {@code classes[i] < 0} takes image i's highest logit. Only the last
         * block and the head are recorded; no parameter of {@code host} gets a gradient.
         */
        Cam gradCam(Module host, Tensor x, int[] classes, Linear head) {
            int n = x.dim(0);
            int c = config.hidden();
            int numClasses = head.weight().tensor().dim(0);
            List<Parameter> params = List.copyOf(host.namedParameters().values());
            boolean[] had = new boolean[params.size()];
            for (int i = 0; i < had.length; i++) {
                had[i] = params.get(i).tensor().requiresGrad();
                params.get(i).tensor().requiresGrad(false);
            }
            try (Scope s = Scope.open()) {
                Tensor t;
                try (dev.graft.engine.Grad.Mode off = dev.graft.engine.Grad.off()) {
                    t = embed(x);
                    for (int i = 0; i < blocks.size() - 1; i++) {
                        t = blocks.get(i).forward(t);
                    }
                }
                Block last = blocks.get(blocks.size() - 1);
                Tensor a;
                try (dev.graft.engine.Grad.Mode off = dev.graft.engine.Grad.off()) {
                    a = last.norm1.forward(t);
                }
                a = a.detach().requiresGrad(true);
                Tensor logits;
                try (dev.graft.engine.Grad.Mode on = dev.graft.engine.Grad.on()) {
                    Tensor y = Functional.add(t, last.attention.forward(a));
                    Tensor z = Functional.add(y, last.fc2.forward(Functional.gelu(last.fc1.forward(last.norm2.forward(y)))));
                    logits = head.forward(Functional.reshape(Functional.narrow(norm.forward(z), 1, 0, 1), n, c));
                }
                float[] values = logits.toFloatArray();
                int[] chosen = new int[n];
                float[] pick = new float[n * numClasses];
                for (int i = 0; i < n; i++) {
                    int k = classes == null || classes[i] < 0 ? argmax(values, i * numClasses, numClasses) : classes[i];
                    if (k >= numClasses) {
                        throw new ModelException("Grad-CAM class index " + k + " for image " + i + " is out of range: the model has "
                                + numClasses + " classes (0.." + (numClasses - 1) + ")");
                    }
                    chosen[i] = k;
                    pick[i * numClasses + k] = 1;
                }
                try (dev.graft.engine.Grad.Mode on = dev.graft.engine.Grad.on()) {
                    Functional.sum(Functional.mul(logits, Tensor.fromArray(x.device(), pick, n, numClasses))).backward();
                }
                return new Cam(a.toFloatArray(), a.grad().toFloatArray(), values, chosen);
            } finally {
                for (int i = 0; i < had.length; i++) {
                    params.get(i).tensor().requiresGrad(had[i]);
                }
            }
        }

        /** Grad-CAM's inputs: activations and gradients [N, tokens, hidden], logits [N, classes], the classes explained. */
        record Cam(float[] activations, float[] gradients, float[] logits, int[] classes) {
        }

        private static int argmax(float[] v, int offset, int count) {
            int best = 0;
            for (int j = 1; j < count; j++) {
                if (v[offset + j] > v[offset + best]) {
                    best = j;
                }
            }
            return best;
        }
    }

    /** A model with zero-filled tensors (layer norms 1/0); {@link #initialize} draws fresh weights. */
    public static VisionTransformer allocate(ViTConfig config, Device device, DType dtype) {
        return new VisionTransformer(config, device, dtype);
    }

    /** A freshly initialised model ({@link #initialize}). */
    public static VisionTransformer create(ViTConfig config, Device device, DType dtype, long seed) {
        VisionTransformer m = allocate(config, device, dtype);
        m.initialize(seed);
        return m;
    }

    /**
     * A model for {@code state} loaded strictly: the architecture from the {@link #META_CONFIG} metadata, else
     * recognised from the keys ({@link #recognize}); torchvision's legacy MLP names load
     * ({@link #normalizeKeys}); a position embedding for another grid is interpolated to {@code config}'s.
     */
    public static VisionTransformer fromStateDict(StateDict state, ViTConfig config, Device device) {
        VisionTransformer m = allocate(config, device, DType.F32);
        try {
            m.load(state, true);
            return m;
        } catch (RuntimeException e) {
            m.close();
            throw e;
        }
    }

    public static VisionTransformer fromStateDict(StateDict state, Device device) {
        String described = state.metadata().get(META_CONFIG);
        return fromStateDict(state, described != null ? ViTConfig.parse(described) : recognize(StateShapes.of(state)), device);
    }

    /**
     * Loads {@code state} after {@link #normalizeKeys} and, when its position embedding was made for another
     * image size, {@link #resizePositionEmbedding} (bicubic, torchvision's {@code align_corners=True}).
     */
    @Override
    public LoadReport load(StateDict state, boolean strict) {
        return super.load(adapt(state, config), strict);
    }

    /**
     * {@code state} as a model of {@code config} loads it: wrapper prefixes ({@code module.}, {@code model.}) stripped,
     * {@link #normalizeKeys}, and a position embedding for another grid {@link #resizePositionEmbedding resized}.
     */
    static StateDict adapt(StateDict state, ViTConfig config) {
        StateDict s = normalizeKeys(KeyPrefixes.stripCommon(state).state());
        HostTensor pos = s.get(config.naming().posEmbed);
        if (pos != null && pos.shape().rank() == 3 && pos.shape().dim(2) == config.hidden() && pos.shape().dim(1) != config.tokens()) {
            s.put(config.naming().posEmbed, resizePositionEmbedding(pos, config.grid()));
        }
        return s;
    }

    /**
     * torchvision's {@code _load_from_state_dict}: keys {@code ...mlp.linear_1.*} / {@code ...mlp.linear_2.*} (files
     * saved before torchvision 0.13) become {@code mlp.0.*} / {@code mlp.3.*}. A copy; metadata kept.
     */
    public static StateDict normalizeKeys(StateDict state) {
        StateDict out = new StateDict();
        state.tensors().forEach((k, v) -> out.put(k.replace(".mlp.linear_1.", ".mlp.0.").replace(".mlp.linear_2.", ".mlp.3."), v));
        out.metadata().putAll(state.metadata());
        return out;
    }

    /** [1, 1 + g*g, C] to [1, 1 + grid*grid, C]: the class token kept, the grid resized bicubically (align corners). */
    public static HostTensor resizePositionEmbedding(HostTensor pos, int grid) {
        int tokens = pos.shape().dim(1) - 1;
        int g = (int) Math.round(Math.sqrt(tokens));
        if (g * g != tokens || pos.shape().dim(0) != 1) {
            throw new ModelException("position embedding " + pos.shape() + " is not [1, 1 + g*g, C] for a square grid; cannot resize it to "
                    + grid + "x" + grid);
        }
        int c = pos.shape().dim(2);
        float[] resized = PositionEmbeddings.resizeSquare(pos.toFloats(), c, 1, grid, true);
        return HostTensor.of(resized, Shape.of(1, 1 + grid * grid, c));
    }

    /**
     * torchvision's {@code VisionTransformer} initialisation ({@link Body#initialize}); the head is zeroed as
     * torchvision zeroes it.
     */
    public void initialize(long seed) {
        RandomGenerator rng = new SplittableRandom(seed);
        body().initialize(rng);
        fill(head.weight().tensor(), 0);
        fill(head.bias().tensor(), 0);
    }

    private Body body() {
        return body;
    }

    private static double clippedNormal(RandomGenerator rng, double std) {
        double z;
        do {
            z = rng.nextGaussian();
        } while (Math.abs(z) > 2);
        return z * std;
    }

    private static void set(Tensor t, java.util.function.IntToDoubleFunction f) {
        float[] v = new float[t.numel()];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) f.applyAsDouble(i);
        }
        t.data().backend().copyFromHost(t.data(), v);
    }

    private static void fill(Tensor t, double value) {
        t.data().backend().fill(t.data(), value);
    }

    // ---- forward ----------------------------------------------------------------------------------------

    /** Logits [N, classes] for images [N, inChannels, imageSize, imageSize]. */
    @Override
    public Tensor forward(Tensor x) {
        return head.forward(features(x));
    }

    /** The class token's output after the final layer norm [N, hidden]: what the head reads. */
    public Tensor features(Tensor x) {
        return body.features(x);
    }

    /** The last block's output [N, tokens, hidden], before the final norm (Grad-CAM's target, as timm recipes take it). */
    public Tensor tokens(Tensor x) {
        return body.tokens(x);
    }

    /** Patch embedding, class token and position embedding: [N, 1 + g*g, hidden]. */
    public Tensor embed(Tensor x) {
        return body.embed(x);
    }

    /**
     * Grad-CAM's coarse maps [N][g][g] for class {@code classes[i]} of image i, as pytorch-grad-cam's ViT recipe takes
     * them: A = the last block's first layer norm output ({@code ln_1} / {@code norm1}) without the class token,
     * reshaped to the patch grid [C, g, g]; g = d(logit_c)/dA; w_k = mean_ij g_kij; cam = relu(sum_k w_k A_k). Not
     * upsampled or normalised. Only the last block and the head are recorded; no parameter gets a gradient.
     */
    public float[][][] gradCamCoarse(Tensor x, int[] classes) {
        int n = x.dim(0);
        if (classes.length != n) {
            throw new ModelException("gradCam: " + classes.length + " classes for " + n + " images");
        }
        Body.Cam cam = body.gradCam(this, x, classes, head);
        int g = config.grid();
        int c = config.hidden();
        int tokens = config.tokens();
        float[][][] out = new float[n][g][g];
        for (int i = 0; i < n; i++) {
            double[] w = new double[c];
            for (int p = 1; p < tokens; p++) {
                for (int k = 0; k < c; k++) {
                    w[k] += cam.gradients()[(i * tokens + p) * c + k] / (double) (tokens - 1);
                }
            }
            for (int p = 1; p < tokens; p++) {
                double v = 0;
                for (int k = 0; k < c; k++) {
                    v += w[k] * cam.activations()[(i * tokens + p) * c + k];
                }
                out[i][(p - 1) / g][(p - 1) % g] = (float) Math.max(0, v);
            }
        }
        return out;
    }

    // ---- units, head ------------------------------------------------------------------------------------

    /**
     * Freezing units as the DeiT/Swin transfer studies count them: the embedding (patch convolution, class token,
     * position embedding), each block, then the final norm with the head.
     */
    public List<Topology.Unit> units() {
        return units(config);
    }

    /** {@link #units()} for {@code config}: what the registry's {@link Topology} for a ViT declares. */
    public static List<Topology.Unit> units(ViTConfig config) {
        ViTConfig.Naming n = config.naming();
        List<Topology.Unit> units = new ArrayList<>();
        units.add(new Topology.Unit(n.patchEmbed, List.of(n.classToken, n.patchEmbed, n.posEmbed)));
        for (int i = 0; i < config.depth(); i++) {
            units.add(new Topology.Unit(n.block(i), List.of(n.block(i))));
        }
        units.add(new Topology.Unit(n.finalNorm, List.of(n.finalNorm, n.head)));
        return units;
    }

    /** Freezes every unit before {@code unitName} and trains it and the rest; the name is a unit's ({@link #units()}). */
    public VisionTransformer unfreezeFrom(String unitName) {
        List<Topology.Unit> units = units();
        int at = -1;
        for (int i = 0; i < units.size(); i++) {
            if (units.get(i).name().equals(unitName)) {
                at = i;
            }
        }
        if (at < 0) {
            throw new ModelException("'" + unitName + "' is not a unit of " + config.architecture() + "; units are "
                    + units.stream().map(Topology.Unit::name).toList());
        }
        unfreeze();
        List<String> frozen = new ArrayList<>();
        units.subList(0, at).forEach(u -> frozen.addAll(u.modules()));
        if (!frozen.isEmpty()) {
            freeze(frozen.toArray(String[]::new));
        }
        return this;
    }

    /** A new head for {@code numClasses}, initialised as {@code nn.Linear}, trainable; the old one is freed. */
    public VisionTransformer replaceHead(int numClasses, long seed) {
        Linear old = head;
        try (Scope.Entered in = scope.enter()) {
            Linear h = new Linear(config.hidden(), numClasses, true, device, dtype);
            Init.linearDefault(h, new SplittableRandom(seed));
            head = replace(config.naming().head, h);
        }
        old.namedParameters().values().forEach(p -> p.tensor().close());
        config = config.withNumClasses(numClasses);
        return this;
    }

    public ViTConfig config() {
        return config;
    }

    public Linear head() {
        return head;
    }

    public Device device() {
        return device;
    }

    @Override
    public Map<String, String> metadata() {
        Map<String, String> m = super.metadata();
        m.put(ResNet.META_ARCHITECTURE, config.architecture());
        m.put(META_CONFIG, config.describe());
        return m;
    }

    @Override
    public void close() {
        scope.close();
    }

    @Override
    public String toString() {
        return config.architecture() + " (" + config.describe() + ") on " + device;
    }

    // ---- recognition ------------------------------------------------------------------------------------

    /**
     * The vision transformer whose state dict these keys and shapes are: the naming from the class token's key
     * ({@code class_token} torchvision, {@code cls_token} timm), widths from the patch convolution, depth from the
     * blocks, heads from the named network of that width (a state dict does not record them; custom widths get
     * 64-wide heads), the image size from the position embedding. Throws when it is not one.
     */
    public static ViTConfig recognize(Map<String, Shape> shapes) {
        ViTConfig.Naming n = shapes.containsKey("class_token") ? ViTConfig.Naming.TORCHVISION
                : shapes.containsKey("cls_token") ? ViTConfig.Naming.TIMM : null;
        if (n == null) {
            throw new ModelException("not a vision transformer: no class_token (torchvision) or cls_token (timm) key");
        }
        Shape conv = shapes.get(n.patchEmbed + ".weight");
        Shape pos = shapes.get(n.posEmbed);
        Shape head = shapes.get(n.head + ".weight");
        Shape fc1 = shapes.get(n.block(0) + "." + n.fc1 + ".weight");
        if (fc1 == null) {
            fc1 = shapes.get(n.block(0) + ".mlp.linear_1.weight");
        }
        if (conv == null || conv.rank() != 4 || pos == null || pos.rank() != 3 || head == null || fc1 == null) {
            throw new ModelException("the state dict has " + n.classToken + " but lacks " + n.patchEmbed + ".weight, " + n.posEmbed
                    + ", " + n.head + ".weight or the first block's MLP: not a complete vision transformer");
        }
        int depth = 0;
        while (shapes.containsKey(n.block(depth) + "." + n.norm1 + ".weight")) {
            depth++;
        }
        int hidden = conv.dim(0);
        int patch = conv.dim(2);
        int tokens = pos.dim(1) - 1;
        int grid = (int) Math.round(Math.sqrt(tokens));
        if (grid * grid != tokens) {
            throw new ModelException(n.posEmbed + " " + pos + " does not hold a class token and a square grid of patches");
        }
        int heads = hidden % 64 == 0 ? hidden / 64 : 1;
        for (String name : ViTConfig.names()) {
            ViTConfig c = ViTConfig.named(name, 1);
            if (c.naming() == n && c.hidden() == hidden && c.patch() == patch && c.depth() == depth) {
                heads = c.heads();
            }
        }
        return new ViTConfig("custom", n, grid * patch, patch, hidden, depth, heads, fc1.dim(0), head.dim(0), conv.dim(1)).renamed();
    }

    // ---- registration helpers -------------------------------------------------------------------------

    private static Parameter placeParameter(Module host, String path, Tensor values) {
        int dot = path.lastIndexOf('.');
        return dot < 0 ? host.registerParameter(path, values) : namespace(host, path.substring(0, dot)).addParameter(path.substring(dot + 1), values);
    }

    private static <M extends Module> M place(Module host, String path, M m) {
        int dot = path.lastIndexOf('.');
        return dot < 0 ? host.registerModule(path, m) : namespace(host, path.substring(0, dot)).add(path.substring(dot + 1), m);
    }

    private <M extends Module> M replace(String path, M m) {
        int dot = path.lastIndexOf('.');
        return dot < 0 ? registerModule(path, m) : ((Namespace) module(path.substring(0, dot))).add(path.substring(dot + 1), m);
    }

    /** The grouping module at {@code path} under {@code host}, made (with those above it) on first use. */
    private static Namespace namespace(Module host, String path) {
        Module at = host;
        for (String part : path.split("\\.")) {
            Module next = at.children().get(part);
            if (next == null) {
                next = at == host ? host.registerModule(part, new Namespace()) : ((Namespace) at).add(part, new Namespace());
            }
            at = next;
        }
        return (Namespace) at;
    }

    /** One pre-norm encoder block: x + attn(norm1(x)), then + mlp(norm2(.)). */
    static final class Block extends Module {
        final LayerNorm norm1;
        final Attention attention;
        final LayerNorm norm2;
        final Linear fc1;
        final Linear fc2;

        Block(ViTConfig config, Device device, DType dtype) {
            ViTConfig.Naming n = config.naming();
            int c = config.hidden();
            norm1 = registerModule(n.norm1, new LayerNorm(c, ViTConfig.LAYER_NORM_EPS, device, dtype));
            attention = registerModule(n.attention, new Attention(config, device, dtype));
            norm2 = registerModule(n.norm2, new LayerNorm(c, ViTConfig.LAYER_NORM_EPS, device, dtype));
            Namespace mlp = registerModule("mlp", new Namespace()); // torchvision: mlp.0 Linear, 1 GELU, 2 Dropout, 3 Linear
            fc1 = mlp.add(n.fc1.substring(4), new Linear(c, config.mlp(), true, device, dtype));
            fc2 = mlp.add(n.fc2.substring(4), new Linear(config.mlp(), c, true, device, dtype));
        }

        @Override
        public Tensor forward(Tensor x) {
            Tensor y = attention.forwardAdd(norm1.forward(x), x);
            return fc2.forwardAdd(fc1.forwardGelu(norm2.forward(y)), y);
        }
    }

    /**
     * Multi-head self-attention with one packed q/k/v projection [3C, C] (q rows first, then k, then v: both
     * {@code nn.MultiheadAttention}'s {@code in_proj_weight} and timm's {@code qkv}), scaled by 1/sqrt(C/heads).
     */
    static final class Attention extends Module {
        final int heads;
        final Parameter qkvWeight;
        final Parameter qkvBias;
        final Linear proj;
        private final Linear qkv;

        Attention(ViTConfig config, Device device, DType dtype) {
            ViTConfig.Naming n = config.naming();
            int c = config.hidden();
            heads = config.heads();
            if (n == ViTConfig.Naming.TORCHVISION) {
                qkv = null;
                qkvWeight = registerParameter("in_proj_weight", Tensor.zeros(device, dtype, 3 * c, c));
                qkvBias = registerParameter("in_proj_bias", Tensor.zeros(device, dtype, 3 * c));
            } else {
                qkv = registerModule("qkv", new Linear(c, 3 * c, true, device, dtype));
                qkvWeight = qkv.weight();
                qkvBias = qkv.bias();
            }
            proj = registerModule(n.outProjection(), new Linear(c, c, true, device, dtype));
        }

        @Override
        public Tensor forward(Tensor x) {
            return proj.forward(attend(x));
        }

        /** {@code residual + forward(x)}, the output projection and the skip connection in one kernel at inference. */
        Tensor forwardAdd(Tensor x, Tensor residual) {
            return proj.forwardAdd(attend(x), residual);
        }

        /** The heads' outputs merged, [N, T, C], before the output projection. */
        private Tensor attend(Tensor x) {
            int d = x.dim(2) / heads;
            Tensor packed = Functional.linear(x, qkvWeight.tensor(), qkvBias.tensor()); // [N, T, 3C]: q, k, v by head
            // softmax(q k^T / sqrt(d)) v per head, heads merged to [N, T, C]; q, k, v are read in place
            return Functional.packedSelfAttention(packed, heads, 1.0 / Math.sqrt(d));
        }
    }
}
