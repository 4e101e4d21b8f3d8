package dev.graft.models;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The shape of a plain vision transformer (Dosovitskiy et al.; DeiT is the same network): a {@code patch} x
 * {@code patch} stride-{@code patch} convolution to {@code hidden} channels, a class token and learned position
 * embeddings for {@code 1 + (imageSize/patch)^2} tokens, {@code depth} pre-norm blocks (layer norm, multi-head
 * self-attention with {@code heads} heads, residual; layer norm, Linear-GELU-Linear MLP of width {@code mlp},
 * residual), a final layer norm and a linear head on the class token. Layer norms use eps 1e-6 (torchvision's
 * {@code partial(nn.LayerNorm, eps=1e-6)}, timm's DeiT). {@link #naming()} says whose state-dict names the modules
 * carry; the computation is the same.
 */
public record ViTConfig(String architecture, Naming naming, int imageSize, int patch, int hidden, int depth, int heads,
                        int mlp, int numClasses, int inChannels) {
    public static final String FAMILY = "vit";
    public static final double LAYER_NORM_EPS = 1e-6;

    public ViTConfig {
        if (patch < 1 || imageSize < patch || imageSize % patch != 0) {
            throw new ModelException("vision transformer: image size " + imageSize + " must be a positive multiple of the patch size " + patch);
        }
        if (hidden < 1 || heads < 1 || hidden % heads != 0) {
            throw new ModelException("vision transformer: hidden width " + hidden + " must be a positive multiple of the " + heads + " heads");
        }
        // bounds as ResNetConfig's (a line from a file must not build block after block until memory runs out): the
        // largest published plain ViTs (ViT-g/14: width 1408, depth 40, MLP 6144; ViT-G/14: 1664, 48, 8192) fit
        if (hidden > ResNetConfig.MAX_WIDTH || depth > ResNetConfig.MAX_BLOCKS_PER_STAGE || mlp > 4 * ResNetConfig.MAX_WIDTH
                || imageSize > ModelMetadata.MAX_IMAGE_SIZE) {
            throw new ModelException("vision transformer: hidden width " + hidden + " (at most " + ResNetConfig.MAX_WIDTH + "), depth "
                    + depth + " (at most " + ResNetConfig.MAX_BLOCKS_PER_STAGE + "), mlp " + mlp + " (at most " + 4 * ResNetConfig.MAX_WIDTH
                    + "), image " + imageSize + " (at most " + ModelMetadata.MAX_IMAGE_SIZE + ")");
        }
        if (depth < 1 || mlp < 1 || numClasses < 1 || numClasses > ResNetConfig.MAX_CLASSES || (inChannels != 1 && inChannels != 3)) {
            throw new ModelException("vision transformer: depth " + depth + ", mlp " + mlp + ", classes " + numClasses
                    + ", in_channels " + inChannels + " (depth, mlp >= 1; 1 to " + ResNetConfig.MAX_CLASSES + " classes; 1 or 3 channels)");
        }
    }

    /** Whose names the state dict uses: torchvision's {@code VisionTransformer} or timm's ({@code deit_*}, {@code vit_*}). */
    public enum Naming {
        TORCHVISION("class_token", "encoder.pos_embedding", "conv_proj", "encoder.layers.encoder_layer_", "ln_1",
                "self_attention", "ln_2", "mlp.0", "mlp.3", "encoder.ln", "heads.head"),
        TIMM("cls_token", "pos_embed", "patch_embed.proj", "blocks.", "norm1", "attn", "norm2", "mlp.fc1", "mlp.fc2",
                "norm", "head");

        public final String classToken;
        public final String posEmbed;
        public final String patchEmbed;
        final String blockPrefix;
        public final String norm1;
        public final String attention;
        public final String norm2;
        public final String fc1;
        public final String fc2;
        public final String finalNorm;
        public final String head;

        Naming(String classToken, String posEmbed, String patchEmbed, String blockPrefix, String norm1, String attention,
               String norm2, String fc1, String fc2, String finalNorm, String head) {
            this.classToken = classToken;
            this.posEmbed = posEmbed;
            this.patchEmbed = patchEmbed;
            this.blockPrefix = blockPrefix;
            this.norm1 = norm1;
            this.attention = attention;
            this.norm2 = norm2;
            this.fc1 = fc1;
            this.fc2 = fc2;
            this.finalNorm = finalNorm;
            this.head = head;
        }

        /** Block {@code i}'s module path ({@code encoder.layers.encoder_layer_3}, {@code blocks.3}). */
        public String block(int i) {
            return blockPrefix + i;
        }

        /** The packed q, k, v projection's weight and bias keys, relative to the attention module. */
        public String qkvWeight() {
            return this == TORCHVISION ? "in_proj_weight" : "qkv.weight";
        }

        public String qkvBias() {
            return this == TORCHVISION ? "in_proj_bias" : "qkv.bias";
        }

        /** The output projection's module name, relative to the attention module. */
        public String outProjection() {
            return this == TORCHVISION ? "out_proj" : "proj";
        }

        public String metadataValue() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    private static final Map<String, ViTConfig> NAMED = new LinkedHashMap<>();

    static {
        // torchvision.models.vit_b_16 / vit_b_32 / vit_l_16 (vision_transformer.py); timm's deit_small_patch16_224.
        NAMED.put("vit_b_16", new ViTConfig("vit_b_16", Naming.TORCHVISION, 224, 16, 768, 12, 12, 3072, 1000, 3));
        NAMED.put("vit_b_32", new ViTConfig("vit_b_32", Naming.TORCHVISION, 224, 32, 768, 12, 12, 3072, 1000, 3));
        NAMED.put("vit_l_16", new ViTConfig("vit_l_16", Naming.TORCHVISION, 224, 16, 1024, 24, 16, 4096, 1000, 3));
        NAMED.put("deit_s", new ViTConfig("deit_s", Naming.TIMM, 224, 16, 384, 12, 6, 1536, 1000, 3));
    }

    /** {@code vit_b_16}, {@code vit_b_32}, {@code vit_l_16}, {@code deit_s}. */
    public static Set<String> names() {
        return NAMED.keySet();
    }

    public static boolean isNamed(String name) {
        return NAMED.containsKey(name) || "deit_small_patch16_224".equals(name);
    }

    /** A named network with {@code numClasses} outputs ({@code deit_small_patch16_224} is accepted for {@code deit_s}). */
    public static ViTConfig named(String name, int numClasses) {
        ViTConfig c = NAMED.get("deit_small_patch16_224".equals(name) ? "deit_s" : name);
        if (c == null) {
            throw new ModelException("unknown vision transformer '" + name + "'; known: " + String.join(", ", NAMED.keySet()));
        }
        return c.withNumClasses(numClasses);
    }

    public int grid() {
        return imageSize / patch;
    }

    /** Tokens per image: the class token and one per patch. */
    public int tokens() {
        return 1 + grid() * grid();
    }

    public ViTConfig withNumClasses(int n) {
        return new ViTConfig(architecture, naming, imageSize, patch, hidden, depth, heads, mlp, n, inChannels);
    }

    /** The same network for another image size (position embeddings are interpolated when weights load). */
    public ViTConfig withImageSize(int size) {
        return new ViTConfig(architecture, naming, size, patch, hidden, depth, heads, mlp, numClasses, inChannels);
    }

    public ViTConfig withInChannels(int n) {
        return new ViTConfig(architecture, naming, imageSize, patch, hidden, depth, heads, mlp, numClasses, n);
    }

    /** The named configuration this is, ignoring classes, image size and channels, or "custom". */
    ViTConfig renamed() {
        for (ViTConfig c : NAMED.values()) {
            if (c.naming == naming && c.patch == patch && c.hidden == hidden && c.depth == depth && c.heads == heads && c.mlp == mlp) {
                return new ViTConfig(c.architecture, naming, imageSize, patch, hidden, depth, heads, mlp, numClasses, inChannels);
            }
        }
        return new ViTConfig("custom", naming, imageSize, patch, hidden, depth, heads, mlp, numClasses, inChannels);
    }

    /** The configuration line written to model files ({@code graft.vit}); {@link #parse} reads it back. */
    public String describe() {
        return "family=vit naming=" + naming.metadataValue() + " image=" + imageSize + " patch=" + patch + " hidden=" + hidden
                + " depth=" + depth + " heads=" + heads + " mlp=" + mlp + " classes=" + numClasses + " in_channels=" + inChannels;
    }

    public static ViTConfig parse(String text) {
        Map<String, String> f = new LinkedHashMap<>();
        for (String part : text.trim().split("\\s+")) {
            int eq = part.indexOf('=');
            if (eq < 1) {
                throw new ModelException("cannot read the vision-transformer configuration '" + text + "': '" + part + "' is not key=value");
            }
            f.put(part.substring(0, eq), part.substring(eq + 1));
        }
        try {
            if (!FAMILY.equals(f.get("family"))) {
                throw new ModelException("'" + text + "' is not a vision-transformer configuration (family=vit)");
            }
            Naming naming = Naming.valueOf(f.getOrDefault("naming", "(none)").toUpperCase(java.util.Locale.ROOT));
            return new ViTConfig("custom", naming, num(f, "image"), num(f, "patch"), num(f, "hidden"), num(f, "depth"),
                    num(f, "heads"), num(f, "mlp"), num(f, "classes"), num(f, "in_channels")).renamed();
        } catch (IllegalArgumentException e) { // a missing key, a bad number or naming
            throw new ModelException("cannot read the vision-transformer configuration '" + text + "': " + e.getMessage()
                    + " (expected " + List.of("family", "naming", "image", "patch", "hidden", "depth", "heads", "mlp", "classes", "in_channels") + ")");
        }
    }

    private static int num(Map<String, String> f, String key) {
        String v = f.get(key);
        if (v == null) {
            throw new IllegalArgumentException("no " + key);
        }
        return Integer.parseInt(v);
    }
}
