package dev.graft.models;

import dev.graft.engine.DType;
import dev.graft.engine.Device;
import dev.graft.engine.Functional;
import dev.graft.engine.HostTensor;
import dev.graft.engine.Scope;
import dev.graft.engine.StateDict;
import dev.graft.engine.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.random.RandomGenerator;

/**
 * torchvision 0.14's Swin Transformer (v1) under its exact state-dict names: {@code features.0} the patch
 * embedding (a p x p convolution of stride p, channels last, layer norm as {@code features.0.2}), then the stages
 * {@code features.1, 3, 5, 7} of {@link Block}s and the {@link PatchMerging} layers {@code features.2, 4, 6} between
 * them, the final {@code norm}, global average pooling and {@code head}. Runs unfused through the module (the
 * engine's layer norm, roll, pad, window attention with the relative position bias and the -100 shift mask).
 *
 * <p>Stochastic depth grows linearly over the blocks from 0 to {@link SwinConfig#stochasticDepth()} (0.2 for
 * swin_t) and draws one keep/drop per sample from this model's generator ({@link #seed(long)}), fresh on each of
 * the two residual branches of a block, as torchvision's {@code StochasticDepth(p, "row")} does.
 *
 * <p>The model owns a detached {@link Scope} for its parameters and buffers; close it when done.
 */
public final class SwinTransformer extends Module implements AutoCloseable {
    static final double EPS = 1e-5;

    private final SwinConfig config;
    private final Scope scope;
    private final Sequential features;
    private final Norm norm;
    private final Linear head;
    private final DepthDrop drop = new DepthDrop();

    public SwinTransformer(SwinConfig config, Device device, DType dtype) {
        this.config = config;
        this.scope = Scope.detached(config.name());
        Sequential f;
        Norm n;
        Linear h;
        try (Scope.Entered in = scope.enter()) {
            f = registerModule("features", buildFeatures(config, drop, device, dtype));
            n = registerModule("norm", new Norm(config.featureWidth(), device, dtype));
            h = registerModule("head", new Linear(config.featureWidth(), config.numClasses(), true, device, dtype));
        } catch (RuntimeException e) {
            scope.close();
            throw e;
        }
        this.features = f;
        this.norm = n;
        this.head = h;
    }

    public SwinConfig config() {
        return config;
    }

    /** Seeds the stochastic-depth generator. */
    public SwinTransformer seed(long seed) {
        drop.rng = new SplittableRandom(seed);
        return this;
    }

    /** Draws stochastic depth's keep/drop decisions from {@code rng} (one nextDouble per sample and branch; drop when < p). */
    public SwinTransformer stochasticDepthGenerator(RandomGenerator rng) {
        drop.rng = rng;
        return this;
    }

    /** Turns stochastic depth off (train mode then differs from eval only where dropout would, and Swin has none). */
    public SwinTransformer stochasticDepth(boolean enabled) {
        drop.enabled = enabled;
        return this;
    }

    @Override
    public Tensor forward(Tensor x) {
        return head(featureMap(x));
    }

    /** The last stage's output [N, H, W, C] (channels last), before the final norm: the Grad-CAM feature map. */
    public Tensor featureMap(Tensor x) {
        if (x.shape().rank() != 4 || x.dim(1) != config.inChannels()) {
            throw new ModelException("swin: input must be [N, " + config.inChannels() + ", H, W], got " + x.shape());
        }
        return features.forward(x);
    }

    /** Final norm, average pooling over H and W, {@code head}. */
    public Tensor head(Tensor nhwc) {
        Tensor y = norm.forward(nhwc);
        y = Functional.permute(y, 0, 3, 1, 2);
        y = Functional.flatten(Functional.adaptiveAvgPool2d(y, 1), 1);
        return head.forward(y);
    }

    /**
     * Freezing units, as the seed paper counts them for Swin (by stage and block): the patch embedding
     * {@code features.0}, then each block ({@code features.1.0}, {@code features.1.1}) and each patch merging
     * ({@code features.2}) in network order, then {@code head} (with the final {@code norm}).
     */
    public static List<Topology.Unit> units(SwinConfig config) {
        List<Topology.Unit> out = new ArrayList<>();
        out.add(new Topology.Unit("features.0", List.of("features.0")));
        for (int s = 0; s < config.depths().length; s++) {
            int i = 2 * s + 1;
            for (int b = 0; b < config.depths()[s]; b++) {
                out.add(new Topology.Unit("features." + i + "." + b, List.of("features." + i + "." + b)));
            }
            if (s < config.depths().length - 1) {
                out.add(new Topology.Unit("features." + (i + 1), List.of("features." + (i + 1))));
            }
        }
        out.add(new Topology.Unit("head", List.of("norm", "head")));
        return out;
    }

    public List<Topology.Unit> units() {
        return units(config);
    }

    /**
     * {@code features}: the patch embedding, the stages of blocks (stochastic depth growing linearly from 0 to the
     * configured rate over all blocks) and the patch mergings between them, registered as torchvision does.
     */
    static Sequential buildFeatures(SwinConfig config, DepthDrop drop, Device device, DType dtype) {
        List<Module> layers = new ArrayList<>();
        layers.add(new PatchEmbed(config.patch(), config.inChannels(), config.embed(), device, dtype));
        int total = Arrays.stream(config.depths()).sum();
        int id = 0;
        for (int s = 0; s < config.depths().length; s++) {
            int dim = config.embed() << s;
            List<Module> blocks = new ArrayList<>();
            for (int b = 0; b < config.depths()[s]; b++) {
                double p = total > 1 ? config.stochasticDepth() * id / (total - 1) : 0.0;
                blocks.add(new Block(drop, dim, config.heads()[s], config.window(), b % 2 == 0 ? 0 : config.window() / 2,
                        p, device, dtype));
                id++;
            }
            layers.add(new Sequential(blocks));
            if (s < config.depths().length - 1) {
                layers.add(new PatchMerging(dim, device, dtype));
            }
        }
        return new Sequential(layers);
    }

    /** The final norm of a Swin body, as registered under {@code norm}. */
    static Module buildNorm(SwinConfig config, Device device, DType dtype) {
        return new Norm(config.featureWidth(), device, dtype);
    }

    /**
     * torchvision's initialisation of a Swin Transformer: every Linear trunc_normal(std 0.02) (truncated at +-2, i.e.
     * never at this std) with zero bias, relative position bias tables the same, layer norms 1 and 0, the patch
     * embedding convolution PyTorch's default (U(-b, b), b = 1/sqrt(fan in), weight and bias).
     */
    public static void initialize(Module root, long seed) {
        SplittableRandom rng = new SplittableRandom(seed);
        for (Module m : root.namedModules().values()) {
            if (m instanceof Linear l) {
                gaussian(l.weight().tensor(), 0.02, rng);
                if (l.bias() != null) {
                    set(l.bias().tensor(), new float[l.bias().tensor().numel()]);
                }
            } else if (m instanceof WindowAttention a) {
                gaussian(a.table.tensor(), 0.02, rng);
            } else if (m instanceof Conv2d c) {
                Tensor w = c.weight().tensor();
                double bound = 1.0 / Math.sqrt((double) w.numel() / w.dim(0));
                uniform(w, bound, rng);
                if (c.bias() != null) {
                    uniform(c.bias().tensor(), bound, rng);
                }
            }
        }
    }

    private static void gaussian(Tensor t, double std, RandomGenerator rng) {
        float[] v = new float[t.numel()];
        for (int i = 0; i < v.length; i++) {
            double g;
            do {
                g = rng.nextGaussian() * std;
            } while (Math.abs(g) > 2.0);
            v[i] = (float) g;
        }
        set(t, v);
    }

    private static void uniform(Tensor t, double bound, RandomGenerator rng) {
        float[] v = new float[t.numel()];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) rng.nextDouble(-bound, bound);
        }
        set(t, v);
    }

    private static void set(Tensor t, float[] values) {
        t.data().backend().copyFromHost(t.data(), values);
    }

    /** Freezes every unit before {@code unit} (a name of {@link #units()}) and unfreezes it and all after. */
    public SwinTransformer unfreezeFrom(String unit) {
        List<Topology.Unit> us = units();
        int at = -1;
        for (int i = 0; i < us.size(); i++) {
            if (us.get(i).name().equals(unit)) {
                at = i;
            }
        }
        if (at < 0) {
            throw new ModelException("--unfreeze-from " + unit + ": " + config.name() + " has the units "
                    + us.stream().map(Topology.Unit::name).toList());
        }
        unfreeze();
        for (int i = 0; i < at; i++) {
            freeze(us.get(i).modules().toArray(String[]::new));
        }
        return this;
    }

    /**
     * Loading as {@link Module#load}, after checking that every {@code relative_position_index} in {@code state}
     * equals the one this window size has (the buffer is recomputed, never trusted): a mismatch loads nothing.
     */
    @Override
    public LoadReport load(StateDict state, boolean strict) {
        checkIndexes(state, config);
        return super.load(state, strict);
    }

    static void checkIndexes(StateDict state, SwinConfig config) {
        long[] ours = relativePositionIndex(config.window());
        for (String key : state.keys()) {
            if (key.endsWith("attn.relative_position_index")) {
                HostTensor t = state.get(key);
                long[] theirs = t.dtype() == DType.I64 ? t.longs() : null;
                if (theirs == null || !Arrays.equals(theirs, ours)) {
                    throw new ModelException(key + " differs from the relative position index of a " + config.window()
                            + "x" + config.window() + " window; the checkpoint was made for another window size or is damaged");
                }
            }
        }
    }

    @Override
    public java.util.Map<String, String> metadata() {
        java.util.Map<String, String> m = super.metadata();
        m.put("graft.arch", config.name());
        m.put("graft.swin", config.describe());
        return m;
    }

    @Override
    public void close() {
        scope.close();
    }

    /** torchvision's {@code relative_position_index} for a w x w window: [(w*w)^2] into the [(2w-1)^2] table. */
    public static long[] relativePositionIndex(int w) {
        int t = w * w;
        long[] idx = new long[t * t];
        for (int i = 0; i < t; i++) {
            for (int j = 0; j < t; j++) {
                int dh = i / w - j / w + w - 1;
                int dw = i % w - j % w + w - 1;
                idx[i * t + j] = (long) dh * (2 * w - 1) + dw;
            }
        }
        return idx;
    }

    /**
     * The shifted-window mask [nW, T, T] for a padded pH x pW map, as torchvision computes it: regions numbered over
     * the slices (0, -w), (-w, -s), (-s, end) of each axis, -100 where two positions of a window are in different
     * regions, 0 elsewhere.
     */
    static double[] shiftMask(int ph, int pw, int w, int sh, int sw) {
        int[] region = new int[ph * pw];
        for (int i = 0; i < ph; i++) {
            int rh = i < ph - w ? 0 : (i < ph - sh ? 1 : 2);
            for (int j = 0; j < pw; j++) {
                int rw = j < pw - w ? 0 : (j < pw - sw ? 1 : 2);
                region[i * pw + j] = rh * 3 + rw;
            }
        }
        int nh = ph / w;
        int nw = pw / w;
        int t = w * w;
        double[] mask = new double[nh * nw * t * t];
        for (int a = 0; a < nh; a++) {
            for (int b = 0; b < nw; b++) {
                int win = a * nw + b;
                for (int p = 0; p < t; p++) {
                    int rp = region[(a * w + p / w) * pw + b * w + p % w];
                    for (int q = 0; q < t; q++) {
                        int rq = region[(a * w + q / w) * pw + b * w + q % w];
                        mask[(win * t + p) * t + q] = rp == rq ? 0.0 : -100.0;
                    }
                }
            }
        }
        return mask;
    }

    /** The stochastic-depth generator and switch the blocks of one model share. */
    static final class DepthDrop {
        RandomGenerator rng = new SplittableRandom(0);
        boolean enabled = true;
    }

    // ---- layers --------------------------------------------------------------------------------------------

    /** {@code nn.LayerNorm(dim, eps=1e-5)} on the last axis (weight 1, bias 0). */
    static final class Norm extends Module {
        private final Parameter weight;
        private final Parameter bias;

        Norm(int dim, Device device, DType dtype) {
            weight = registerParameter("weight", Tensor.full(device, dtype, 1.0, dim));
            bias = registerParameter("bias", Tensor.zeros(device, dtype, dim));
        }

        @Override
        public Tensor forward(Tensor x) {
            return Functional.layerNorm(x, weight.tensor(), bias.tensor(), EPS);
        }
    }

    /** {@code features.0}: Conv2d(in, embed, p, stride p) as "0", the permute to NHWC (no state, index 1), norm "2". */
    static final class PatchEmbed extends Module {
        private final Conv2d conv;
        private final Norm norm;

        PatchEmbed(int patch, int in, int embed, Device device, DType dtype) {
            conv = registerModule("0", new Conv2d(in, embed, patch, patch, 0, 1, true, device, dtype));
            norm = registerModule("2", new Norm(embed, device, dtype));
        }

        @Override
        public Tensor forward(Tensor x) {
            return norm.forward(Functional.permute(conv.forward(x), 0, 2, 3, 1));
        }
    }

    /** {@code PatchMerging}: pad H and W to even, 2x2 neighbours concatenated (x0, x1, x2, x3), norm on 4C, reduction. */
    static final class PatchMerging extends Module {
        private final Linear reduction;
        private final Norm norm;

        PatchMerging(int dim, Device device, DType dtype) {
            reduction = registerModule("reduction", new Linear(4 * dim, 2 * dim, false, device, dtype));
            norm = registerModule("norm", new Norm(4 * dim, device, dtype));
        }

        @Override
        public Tensor forward(Tensor x) {
            int n = x.dim(0);
            int h = x.dim(1);
            int w = x.dim(2);
            int c = x.dim(3);
            if (h % 2 != 0 || w % 2 != 0) {
                x = Functional.pad(x, 0, 0, 0, w % 2, 0, h % 2);
                h += h % 2;
                w += w % 2;
            }
            // [N, H/2, hi, W/2, wi, C] -> [N, H/2, W/2, wi, hi, C]: x0 (0,0), x1 (hi 1), x2 (wi 1), x3 along 4C
            Tensor y = Functional.reshape(x, n, h / 2, 2, w / 2, 2, c);
            y = Functional.permute(y, 0, 1, 3, 4, 2, 5);
            y = Functional.reshape(y, n, h / 2, w / 2, 4 * c);
            return reduction.forward(norm.forward(y));
        }
    }

    /** {@code ShiftedWindowAttention}: qkv, proj, the relative position bias table and its index buffer. */
    static final class WindowAttention extends Module {
        private final int window;
        private final int shift;
        private final int heads;
        private final Parameter table;
        private final Tensor index;
        private final Linear qkv;
        private final Linear proj;

        WindowAttention(int dim, int window, int shift, int heads, Device device, DType dtype) {
            if (dim % heads != 0) {
                throw new ModelException("swin: width " + dim + " is not a multiple of " + heads + " heads");
            }
            this.window = window;
            this.shift = shift;
            this.heads = heads;
            table = registerParameter("relative_position_bias_table",
                    Tensor.zeros(device, dtype, (2 * window - 1) * (2 * window - 1), heads));
            long[] idx = relativePositionIndex(window);
            index = registerBuffer("relative_position_index", Tensor.fromLongs(device, idx, idx.length));
            qkv = registerModule("qkv", new Linear(dim, 3 * dim, true, device, dtype));
            proj = registerModule("proj", new Linear(dim, dim, true, device, dtype));
        }

        @Override
        public Tensor forward(Tensor x) {
            int n = x.dim(0);
            int h = x.dim(1);
            int w = x.dim(2);
            int c = x.dim(3);
            int d = c / heads;
            int padR = (window - w % window) % window;
            int padB = (window - h % window) % window;
            if (padR > 0 || padB > 0) {
                x = Functional.pad(x, 0, 0, 0, padR, 0, padB);
            }
            int ph = h + padB;
            int pw = w + padR;
            // torchvision 0.14: no shift along an axis the window covers whole (checked on the padded size)
            int sh = window >= ph ? 0 : shift;
            int sw = window >= pw ? 0 : shift;
            boolean shifted = sh + sw > 0;
            if (shifted) {
                x = Functional.roll(x, new int[] {-sh, -sw}, new int[] {1, 2});
            }
            int nh = ph / window;
            int nw = pw / window;
            int t = window * window;
            Tensor y = Functional.reshape(x, n, nh, window, nw, window, c);
            y = Functional.permute(y, 0, 1, 3, 2, 4, 5);
            y = Functional.reshape(y, n * nh * nw, t, c);
            Tensor z = qkv.forward(y); // [n*nW, T, 3C]
            z = Functional.reshape(z, n, nh * nw, t, 3, heads, d);
            z = Functional.permute(z, 3, 0, 1, 4, 2, 5); // [3, n, nW, heads, T, d]
            Tensor[] parts = Functional.split(z, 0, 1, 1, 1);
            Tensor q = Functional.reshape(parts[0], n, nh * nw, heads, t, d);
            Tensor k = Functional.reshape(parts[1], n, nh * nw, heads, t, d);
            Tensor v = Functional.reshape(parts[2], n, nh * nw, heads, t, d);

            Tensor bias = Functional.indexSelect(table.tensor(), 0, index); // [T*T, heads]
            bias = Functional.permute(Functional.reshape(bias, t, t, heads), 2, 0, 1);
            bias = Functional.reshape(bias, 1, 1, heads, t, t);
            if (shifted) {
                double[] m = shiftMask(ph, pw, window, sh, sw);
                double[] perHead = new double[m.length * heads]; // [1, nW, heads, T, T]: add broadcasts one way
                for (int win = 0; win < nh * nw; win++) {
                    for (int hd = 0; hd < heads; hd++) {
                        System.arraycopy(m, win * t * t, perHead, (win * heads + hd) * t * t, t * t);
                    }
                }
                Tensor mask = Tensor.fromArray(x.device(), x.dtype(), perHead, 1, nh * nw, heads, t, t);
                bias = Functional.add(mask, bias);
            }
            Tensor a = Functional.scaledDotProductAttention(q, k, v, bias, Double.NaN); // [n, nW, heads, T, d]
            a = Functional.permute(a, 0, 1, 3, 2, 4);
            a = Functional.reshape(a, n * nh * nw, t, c);
            a = proj.forward(a);
            a = Functional.reshape(a, n, nh, nw, window, window, c);
            a = Functional.permute(a, 0, 1, 3, 2, 4, 5);
            a = Functional.reshape(a, n, ph, pw, c);
            if (shifted) {
                a = Functional.roll(a, new int[] {sh, sw}, new int[] {1, 2});
            }
            if (padB > 0) {
                a = Functional.narrow(a, 1, 0, h);
            }
            if (padR > 0) {
                a = Functional.narrow(a, 2, 0, w);
            }
            return a;
        }
    }

    /** {@code MLP(dim, [4 dim, dim], GELU)}: Linear "0", GELU, Dropout, Linear "3", Dropout (no dropout in swin_t). */
    static final class Mlp extends Module {
        private final Linear fc1;
        private final Linear fc2;

        Mlp(int dim, Device device, DType dtype) {
            fc1 = registerModule("0", new Linear(dim, 4 * dim, true, device, dtype));
            fc2 = registerModule("3", new Linear(4 * dim, dim, true, device, dtype));
        }

        @Override
        public Tensor forward(Tensor x) {
            return fc2.forward(fc1.forwardGelu(x));
        }

        /** {@code residual + forward(x)}: fc2 and the skip connection in one kernel at inference. */
        Tensor forwardAdd(Tensor x, Tensor residual) {
            return fc2.forwardAdd(fc1.forwardGelu(x), residual);
        }
    }

    /** {@code SwinTransformerBlock}: x + sd(attn(norm1 x)), then x + sd(mlp(norm2 x)). */
    static final class Block extends Module {
        private final DepthDrop drop;
        private final Norm norm1;
        private final WindowAttention attn;
        private final Norm norm2;
        private final Mlp mlp;
        private final double dropPath;

        Block(DepthDrop drop, int dim, int heads, int window, int shift, double dropPath, Device device, DType dtype) {
            this.drop = drop;
            this.dropPath = dropPath;
            norm1 = registerModule("norm1", new Norm(dim, device, dtype));
            attn = registerModule("attn", new WindowAttention(dim, window, shift, heads, device, dtype));
            norm2 = registerModule("norm2", new Norm(dim, device, dtype));
            mlp = registerModule("mlp", new Mlp(dim, device, dtype));
        }

        double dropPath() {
            return dropPath;
        }

        @Override
        public Tensor forward(Tensor x) {
            boolean sd = isTraining() && drop.enabled && dropPath > 0;
            Tensor a = attn.forward(norm1.forward(x));
            x = Functional.add(x, sd ? Functional.dropPath(a, dropPath, true, drop.rng) : a);
            if (!sd) {
                return mlp.forwardAdd(norm2.forward(x), x);
            }
            Tensor m = mlp.forward(norm2.forward(x));
            return Functional.add(x, Functional.dropPath(m, dropPath, true, drop.rng));
        }
    }
}
