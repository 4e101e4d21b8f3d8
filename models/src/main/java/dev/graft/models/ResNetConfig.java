package dev.graft.models;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The shape of a network of the {@link Architectures registry}: a ResNet (family {@code resnet}) or a network of
 * Transfusion's CBR family (family {@code cbr}, see {@link #cbr}); {@link #topology()} declares its layers. The class
 * keeps its first family's name. For ResNets, it is the shape as torchvision's {@code ResNet(block, layers, num_classes, groups, width_per_group)}
 * plus two widths torchvision fixes: {@code stemChannels} (its {@code inplanes}, 64) and {@code planes}, the
 * per-stage planes (64, 128, 256, 512). Narrower values build the small models that parity fixtures use; with
 * the defaults the topology and every key and shape equal torchvision's. {@code inChannels} is 3 (RGB) or 1
 * (grayscale, see {@link ResNet#adaptToGrayscale()}).
 */
public final class ResNetConfig {
    public static final int[] TORCHVISION_PLANES = {64, 128, 256, 512};
    public static final int TORCHVISION_STEM = 64;
    /**
     * Most blocks in one stage: torchvision's deepest stage has 36 (resnet152's layer3), the deepest published
     * ResNets (timm's resnet200/269) 36 and 48. A config from a file asking for 20000 used to build block after block
     * for half a minute until native memory ran out.
     */
    public static final int MAX_BLOCKS_PER_STAGE = 64;
    /**
     * Widest stem, stage planes and bottleneck inner width: twice torchvision's widest convolution (2048 channels,
     * resnext101_32x8d's layer4); one 3x3 convolution this wide already holds 151 million weights.
     */
    public static final int MAX_WIDTH = 4096;
    /** Most classes: ImageNet-21k has 21,841. */
    public static final int MAX_CLASSES = 100_000;

    private static final Map<String, ResNetConfig> NAMED = new LinkedHashMap<>();

    static {
        NAMED.put("resnet18", of(BlockType.BASIC, 2, 2, 2, 2));
        NAMED.put("resnet34", of(BlockType.BASIC, 3, 4, 6, 3));
        NAMED.put("resnet50", of(BlockType.BOTTLENECK, 3, 4, 6, 3));
        NAMED.put("resnet101", of(BlockType.BOTTLENECK, 3, 4, 23, 3));
        NAMED.put("resnet152", of(BlockType.BOTTLENECK, 3, 8, 36, 3));
        NAMED.put("resnext50_32x4d", of(BlockType.BOTTLENECK, 3, 4, 6, 3).withGroups(32, 4));
        NAMED.put("resnext101_32x8d", of(BlockType.BOTTLENECK, 3, 4, 23, 3).withGroups(32, 8));
        NAMED.put("wide_resnet50_2", of(BlockType.BOTTLENECK, 3, 4, 6, 3).withGroups(1, 128));
        NAMED.put("wide_resnet101_2", of(BlockType.BOTTLENECK, 3, 4, 23, 3).withGroups(1, 128));
        NAMED.put("cbr_large_t", cbr(7, new int[] {32, 64, 128, 256, 512}, new boolean[] {true, true, true, true, false}));
        NAMED.put("cbr_large_w", cbr(7, new int[] {64, 128, 256, 512}, new boolean[] {true, true, true, true}));
        NAMED.put("cbr_small", cbr(7, new int[] {32, 64, 128, 256}, new boolean[] {true, true, true, true}));
        NAMED.put("cbr_tiny", cbr(5, new int[] {64, 128, 256, 512}, new boolean[] {true, true, true, true}));
        NAMED.put("inception_v3", new ResNetConfig(true, true, 1000, 3));
        NAMED.put("swin_t", swin(SwinConfig.swinT(1000)));
        for (String v : ViTConfig.names()) { // vit_b_16, vit_b_32, vit_l_16, deit_s
            NAMED.put(v, vit(ViTConfig.named(v, 1000)));
        }
    }

    /** {@code resnet} or {@code cbr}: which {@link Architectures} family declares the topology. */
    private final String family;
    /** CBR only: the (odd) kernel of every convolution, and after which blocks a max pool runs. */
    private final int kernel;
    private final boolean[] pools;
    /** InceptionV3 only: torchvision's {@code transform_input} and whether the {@code AuxLogits} head exists. */
    private final boolean transformInput;
    private final boolean auxLogits;

    private final BlockType block;
    private final int[] layers;
    private final int groups;
    private final int widthPerGroup;
    private final int numClasses;
    private final int inChannels;
    private final int stemChannels;
    private final int[] planes;
    /** Swin only (family {@code swin}): the transformer's shape; null for the other families. */
    private final SwinConfig swin;
    /** Plain vision transformers only (family {@code vit}): the transformer's shape; null for the other families. */
    private final ViTConfig vit;

    /**
     * A transformer (family {@code vit} or {@code swin}): exactly one of {@code vit} and {@code swin} is set; its layers
     * are one {@link Topology.ViT} or {@link Topology.Swin} layer run unfused, none of the convnet fields apply.
     */
    private ResNetConfig(String family, int numClasses, int inChannels, int stemChannels, int featureWidth, SwinConfig swin,
                         ViTConfig vit) {
        this.family = family;
        this.kernel = 0;
        this.pools = new boolean[0];
        this.transformInput = false;
        this.auxLogits = false;
        this.block = null;
        this.layers = new int[0];
        this.groups = 1;
        this.widthPerGroup = 64;
        this.numClasses = numClasses;
        this.inChannels = inChannels;
        this.stemChannels = stemChannels;
        this.planes = new int[] {featureWidth};
        this.swin = swin;
        this.vit = vit;
    }

    /** The registry's configuration for a plain vision transformer ({@code vit_b_16}, ..., {@code deit_s}). */
    public static ResNetConfig vit(ViTConfig vit) {
        return new ResNetConfig(Architectures.VIT, vit.numClasses(), vit.inChannels(), vit.hidden(), vit.hidden(), null,
                vit.renamed());
    }

    public boolean isVit() {
        return vit != null;
    }

    /** The vision-transformer shape, or null where this is not one. */
    public ViTConfig vitConfig() {
        return vit;
    }

    /** Whether the network is a transformer (Swin or ViT): layer norms, no batch norm, no fused inference plan. */
    public boolean isTransformer() {
        return swin != null || vit != null;
    }

    /** A ViT for {@code size} x {@code size} images (its position embedding is interpolated when weights load); others unchanged. */
    public ResNetConfig withImageSize(int size) {
        return isVit() ? vit(vit.withImageSize(size)) : this;
    }

    /** The registry's configuration for a Swin Transformer ({@code swin_t}: {@code swin(SwinConfig.swinT(classes))}). */
    public static ResNetConfig swin(SwinConfig swin) {
        return new ResNetConfig(Architectures.SWIN, swin.numClasses(), swin.inChannels(), swin.embed(), swin.featureWidth(), swin,
                null);
    }

    public boolean isSwin() {
        return swin != null;
    }

    /** The Swin shape, or null where this is not a Swin Transformer. */
    public SwinConfig swinConfig() {
        return swin;
    }

    public ResNetConfig(BlockType block, int[] layers, int groups, int widthPerGroup, int numClasses, int inChannels,
                        int stemChannels, int[] planes) {
        this.family = Architectures.RESNET;
        this.kernel = 0;
        this.pools = new boolean[0];
        this.transformInput = false;
        this.auxLogits = false;
        if (layers.length != 4 || Arrays.stream(layers).anyMatch(n -> n < 1)) {
            throw new ModelException("a ResNet has 4 stages of at least one block each, got " + Arrays.toString(layers));
        }
        if (planes.length != 4 || Arrays.stream(planes).anyMatch(n -> n < 1) || stemChannels < 1) {
            throw new ModelException("planes must be 4 positive widths and the stem width positive, got planes "
                    + Arrays.toString(planes) + ", stem " + stemChannels);
        }
        if (groups < 1 || widthPerGroup < 1 || numClasses < 1 || inChannels < 1) {
            throw new ModelException("groups, width per group, classes and input channels must be >= 1");
        }
        if (Arrays.stream(layers).anyMatch(n -> n > MAX_BLOCKS_PER_STAGE)) {
            throw new ModelException("a ResNet stage has at most " + MAX_BLOCKS_PER_STAGE + " blocks (torchvision's deepest has 36), got "
                    + Arrays.toString(layers));
        }
        if (stemChannels > MAX_WIDTH || Arrays.stream(planes).anyMatch(n -> n > MAX_WIDTH) || inChannels > MAX_WIDTH) {
            throw new ModelException("ResNet widths are at most " + MAX_WIDTH + " channels (torchvision's widest is 2048), got stem "
                    + stemChannels + ", planes " + Arrays.toString(planes) + ", input channels " + inChannels);
        }
        if (numClasses > MAX_CLASSES) {
            throw new ModelException("a ResNet head has at most " + MAX_CLASSES + " classes, got " + numClasses);
        }
        if (block == BlockType.BASIC && (groups != 1 || widthPerGroup != 64)) {
            throw new ModelException("BasicBlock only supports groups=1 and width_per_group=64 (as torchvision); "
                    + "got groups " + groups + ", width_per_group " + widthPerGroup);
        }
        for (int p : planes) {
            if (block == BlockType.BOTTLENECK && (long) p * widthPerGroup / 64 * groups > MAX_WIDTH) {
                throw new ModelException("bottleneck width floor(" + p + " * " + widthPerGroup + " / 64) * " + groups
                        + " is over " + MAX_WIDTH + " channels (torchvision's widest is 2048)");
            }
            if (block == BlockType.BOTTLENECK && Bottleneck.innerWidth(p, groups, widthPerGroup) < 1) {
                throw new ModelException("bottleneck width floor(" + p + " * " + widthPerGroup + " / 64) * " + groups
                        + " is 0; use more planes or a larger width per group");
            }
        }
        this.block = block;
        this.layers = layers.clone();
        this.groups = groups;
        this.widthPerGroup = widthPerGroup;
        this.numClasses = numClasses;
        this.inChannels = inChannels;
        this.stemChannels = stemChannels;
        this.planes = planes.clone();
        this.swin = null;
        this.vit = null;
    }

    private ResNetConfig(int kernel, int[] channels, boolean[] pools, int numClasses, int inChannels) {
        if (kernel < 1 || kernel % 2 == 0 || kernel > 15) {
            throw new ModelException("a CBR network's kernel is odd and at most 15 (padding 'same' = kernel / 2), got " + kernel);
        }
        if (channels.length < 1 || channels.length > MAX_BLOCKS_PER_STAGE || channels.length != pools.length
                || Arrays.stream(channels).anyMatch(n -> n < 1 || n > MAX_WIDTH)) {
            throw new ModelException("a CBR network has 1 to " + MAX_BLOCKS_PER_STAGE + " blocks of 1 to " + MAX_WIDTH
                    + " channels, one pool flag per block; got channels " + Arrays.toString(channels) + ", pools " + Arrays.toString(pools));
        }
        if (numClasses < 1 || numClasses > MAX_CLASSES || inChannels < 1 || inChannels > MAX_WIDTH) {
            throw new ModelException("classes must be 1.." + MAX_CLASSES + " and input channels 1.." + MAX_WIDTH + ", got "
                    + numClasses + " and " + inChannels);
        }
        this.family = Architectures.CBR;
        this.kernel = kernel;
        this.pools = pools.clone();
        this.transformInput = false;
        this.auxLogits = false;
        this.block = null;
        this.layers = new int[0];
        this.groups = 1;
        this.widthPerGroup = 64;
        this.numClasses = numClasses;
        this.inChannels = inChannels;
        this.stemChannels = channels[0];
        this.planes = channels.clone();
        this.swin = null;
        this.vit = null;
    }

    /** torchvision's {@code Inception3} (its fixed widths), see {@link Architectures}. */
    private ResNetConfig(boolean transformInput, boolean auxLogits, int numClasses, int inChannels) {
        if (numClasses < 1 || numClasses > MAX_CLASSES || inChannels < 1 || inChannels > MAX_WIDTH) {
            throw new ModelException("classes must be 1.." + MAX_CLASSES + " and input channels 1.." + MAX_WIDTH + ", got "
                    + numClasses + " and " + inChannels);
        }
        if (transformInput && inChannels != 3) {
            throw new ModelException("transform_input re-normalises the three RGB channels; a " + inChannels
                    + "-channel InceptionV3 must have transform_input off");
        }
        this.family = Architectures.INCEPTION;
        this.kernel = 0;
        this.pools = new boolean[0];
        this.transformInput = transformInput;
        this.auxLogits = auxLogits;
        this.block = null;
        this.layers = new int[0];
        this.groups = 1;
        this.widthPerGroup = 64;
        this.numClasses = numClasses;
        this.inChannels = inChannels;
        this.stemChannels = 32;
        this.planes = new int[0];
        this.swin = null;
        this.vit = null;
    }

    /**
     * torchvision's {@code inception_v3}: 1000 classes, RGB, with {@code transform_input} and the {@code AuxLogits}
     * head as {@code transformInput} and {@code auxLogits} say.
     */
    public static ResNetConfig inception(boolean transformInput, boolean auxLogits) {
        return new ResNetConfig(transformInput, auxLogits, 1000, 3);
    }

    public boolean isInception() {
        return family.equals(Architectures.INCEPTION);
    }

    /** InceptionV3: whether the input is re-normalised from ImageNet's mean/std to (x - 0.5) / 0.5 first. */
    public boolean transformInput() {
        return transformInput;
    }

    /** InceptionV3: whether the auxiliary classifier {@code AuxLogits} exists (trained when asked, never run at inference). */
    public boolean auxLogits() {
        return auxLogits;
    }

    public ResNetConfig withTransformInput(boolean on) {
        requireInception("withTransformInput");
        return new ResNetConfig(on, auxLogits, numClasses, inChannels);
    }

    public ResNetConfig withAuxLogits(boolean on) {
        requireInception("withAuxLogits");
        return new ResNetConfig(transformInput, on, numClasses, inChannels);
    }

    private void requireInception(String what) {
        if (!isInception()) {
            throw new ModelException(what + " is for InceptionV3");
        }
    }

    /**
     * A network of Transfusion's CBR family: one block per entry of {@code channels} (conv k x k stride 1 padding
     * k/2, no bias; batch norm; relu; then a 3x3 stride-2 max pool where {@code pools} says), global average pooling
     * and {@code fc}; 1000 classes, RGB. See {@link Architectures} for the names.
     */
    public static ResNetConfig cbr(int kernel, int[] channels, boolean[] pools) {
        return new ResNetConfig(kernel, channels, pools, 1000, 3);
    }

    /** {@code resnet} or {@code cbr}. */
    public String family() {
        return family;
    }

    /** CBR: the convolution kernel (0 for ResNets). */
    public int kernel() {
        return kernel;
    }

    /** CBR: whether a max pool follows each block (empty for ResNets). */
    public boolean[] pools() {
        return pools.clone();
    }

    public boolean isCbr() {
        return family.equals(Architectures.CBR);
    }

    /** The layers of this network, declared once ({@link Architectures#declare}). */
    // (InceptionV3's widths are torchvision's, fixed.)
    public Topology topology() {
        return Architectures.declare(this);
    }

    /** torchvision widths, 1000 classes, RGB. */
    public static ResNetConfig of(BlockType block, int... layers) {
        return new ResNetConfig(block, layers, 1, 64, 1000, 3, TORCHVISION_STEM, TORCHVISION_PLANES);
    }

    /** One of {@link #architectures()}, e.g. {@code named("resnet50", 2)}. */
    public static ResNetConfig named(String architecture, int numClasses) {
        String key = architecture.trim().toLowerCase(Locale.ROOT);
        ResNetConfig c = NAMED.get(key.equals("deit_small_patch16_224") ? "deit_s" : key); // timm's name for DeiT-S
        if (c == null) {
            throw new ModelException("unknown architecture '" + architecture + "'; known: " + NAMED.keySet());
        }
        return c.withNumClasses(numClasses);
    }

    /** The torchvision ResNet names; {@link Architectures#names()} lists every family's. */
    public static java.util.Set<String> architectures() {
        java.util.Set<String> out = new java.util.LinkedHashSet<>();
        NAMED.forEach((n, c) -> {
            if (c.family.equals(Architectures.RESNET)) {
                out.add(n);
            }
        });
        return java.util.Collections.unmodifiableSet(out);
    }

    /** Every named architecture of every family, in registry order. */
    static java.util.Set<String> allNames() {
        return java.util.Collections.unmodifiableSet(NAMED.keySet());
    }

    /** The torchvision name this config equals (ignoring classes and input channels), or "custom". */
    public String architecture() {
        if (isInception()) {
            return "inception_v3";
        }
        if (isVit()) {
            return vit.architecture(); // named ignoring image size, classes and channels
        }
        for (Map.Entry<String, ResNetConfig> e : NAMED.entrySet()) {
            // another family's entry may not take these channels (a ViT takes 1 or 3): compare within the family
            if (e.getValue().family.equals(family) && e.getValue().withNumClasses(numClasses).withInChannels(inChannels).equals(this)) {
                return e.getKey();
            }
        }
        return "custom";
    }

    public ResNetConfig withNumClasses(int n) {
        if (isInception()) {
            return new ResNetConfig(transformInput, auxLogits, n, inChannels);
        }
        if (isSwin()) {
            return swin(swin.withNumClasses(n));
        }
        if (isVit()) {
            return vit(vit.withNumClasses(n));
        }
        if (isCbr()) {
            return new ResNetConfig(kernel, planes, pools, n, inChannels);
        }
        return new ResNetConfig(block, layers, groups, widthPerGroup, n, inChannels, stemChannels, planes);
    }

    public ResNetConfig withInChannels(int n) {
        if (isInception()) {
            return new ResNetConfig(transformInput && n == 3, auxLogits, numClasses, n);
        }
        if (isSwin()) {
            return swin(swin.withInChannels(n));
        }
        if (isVit()) {
            return vit(vit.withInChannels(n));
        }
        if (isCbr()) {
            return new ResNetConfig(kernel, planes, pools, numClasses, n);
        }
        return new ResNetConfig(block, layers, groups, widthPerGroup, numClasses, n, stemChannels, planes);
    }

    public ResNetConfig withGroups(int g, int widthPerGroup) {
        requireResNet("withGroups");
        requireNotInception("withGroups");
        return new ResNetConfig(block, layers, g, widthPerGroup, numClasses, inChannels, stemChannels, planes);
    }

    /**
     * Narrower (or wider) stem and stages than torchvision's 64 / (64, 128, 256, 512); for a CBR network, block widths
     * {@code stem, stagePlanes[0], stagePlanes[1], ...} (as many as it has blocks).
     */
    public ResNetConfig withWidths(int stem, int... stagePlanes) {
        requireNotInception("withWidths");
        if (isCbr()) {
            // a CBR network narrowed the same way: its blocks take the widths stem, planes[0], planes[1], ... in turn
            if (stagePlanes.length < planes.length - 1) {
                throw new ModelException("withWidths for a CBR network of " + planes.length + " blocks needs a stem and "
                        + (planes.length - 1) + " more widths, got " + stagePlanes.length);
            }
            int[] c = new int[planes.length];
            c[0] = stem;
            System.arraycopy(stagePlanes, 0, c, 1, planes.length - 1);
            return withChannels(c);
        }
        return new ResNetConfig(block, layers, groups, widthPerGroup, numClasses, inChannels, stem, stagePlanes);
    }

    /** CBR: the same network with other block widths (the small models tests use). */
    public ResNetConfig withChannels(int... channels) {
        if (!isCbr()) {
            throw new ModelException("withChannels is for CBR networks; ResNets use withWidths");
        }
        return new ResNetConfig(kernel, channels, pools, numClasses, inChannels);
    }

    private void requireNotInception(String what) {
        if (isInception()) {
            throw new ModelException(what + ": InceptionV3 has torchvision's fixed widths");
        }
    }

    private void requireResNet(String what) {
        if (isCbr()) {
            throw new ModelException(what + " is for ResNets; CBR networks use withChannels");
        }
    }

    public BlockType block() {
        return block;
    }

    public int[] layers() {
        return layers.clone();
    }

    public int groups() {
        return groups;
    }

    public int widthPerGroup() {
        return widthPerGroup;
    }

    public int numClasses() {
        return numClasses;
    }

    public int inChannels() {
        return inChannels;
    }

    public int stemChannels() {
        return stemChannels;
    }

    public int[] planes() {
        return planes.clone();
    }

    /** Width of the pooled features that feed {@code fc}: planes[3] * expansion (512 or 2048 in torchvision). */
    public int featureWidth() {
        if (isInception()) {
            return 2048;
        }
        if (isSwin()) {
            return swin.featureWidth();
        }
        if (isVit()) {
            return vit.hidden();
        }
        if (isCbr()) {
            return planes[planes.length - 1];
        }
        return planes[3] * block.expansion();
    }

    /**
     * One line for file metadata, parsed back by {@link #parse}: {@code block=bottleneck layers=3,4,6,3 groups=32
     * width_per_group=4 stem=64 planes=64,128,256,512 classes=2 in_channels=3}.
     */
    public String describe() {
        if (isInception()) {
            return "family=inception transform_input=" + (transformInput ? 1 : 0) + " aux_logits=" + (auxLogits ? 1 : 0)
                    + " classes=" + numClasses + " in_channels=" + inChannels;
        }
        if (isSwin()) {
            return swin.describe();
        }
        if (isVit()) {
            return vit.describe();
        }
        if (isCbr()) {
            StringBuilder p = new StringBuilder();
            for (int i = 0; i < pools.length; i++) {
                p.append(i == 0 ? "" : ",").append(pools[i] ? 1 : 0);
            }
            return "family=cbr kernel=" + kernel + " channels=" + join(planes) + " pools=" + p + " classes=" + numClasses
                    + " in_channels=" + inChannels;
        }
        return "block=" + block.key() + " layers=" + join(layers) + " groups=" + groups + " width_per_group="
                + widthPerGroup + " stem=" + stemChannels + " planes=" + join(planes) + " classes=" + numClasses
                + " in_channels=" + inChannels;
    }

    public static ResNetConfig parse(String text) {
        Map<String, String> f = new LinkedHashMap<>();
        for (String part : text.trim().split("\\s+")) {
            int eq = part.indexOf('=');
            if (eq <= 0) {
                throw new ModelException("bad ResNet config '" + text + "': expected key=value pairs as describe() writes");
            }
            f.put(part.substring(0, eq), part.substring(eq + 1));
        }
        try {
            if (Architectures.INCEPTION.equals(f.get("family"))) {
                return new ResNetConfig(!"0".equals(f.get("transform_input")), !"0".equals(f.get("aux_logits")),
                        Integer.parseInt(f.get("classes")), Integer.parseInt(f.get("in_channels")));
            }
            if (Architectures.SWIN.equals(f.get("family"))) {
                return swin(SwinConfig.parse(text));
            }
            if (Architectures.VIT.equals(f.get("family"))) {
                return vit(ViTConfig.parse(text));
            }
            if (Architectures.CBR.equals(f.get("family"))) {
                int[] p = ints(f.get("pools"));
                boolean[] pools = new boolean[p.length];
                for (int i = 0; i < p.length; i++) {
                    pools[i] = p[i] != 0;
                }
                return new ResNetConfig(Integer.parseInt(f.get("kernel")), ints(f.get("channels")), pools,
                        Integer.parseInt(f.get("classes")), Integer.parseInt(f.get("in_channels")));
            }
            return new ResNetConfig(BlockType.valueOf(f.get("block").toUpperCase(Locale.ROOT)), ints(f.get("layers")),
                    Integer.parseInt(f.get("groups")), Integer.parseInt(f.get("width_per_group")),
                    Integer.parseInt(f.get("classes")), Integer.parseInt(f.get("in_channels")),
                    Integer.parseInt(f.get("stem")), ints(f.get("planes")));
        } catch (RuntimeException e) {
            if (e instanceof ModelException m) {
                throw m;
            }
            throw new ModelException("bad ResNet config '" + text + "': " + e.getMessage());
        }
    }

    private static int[] ints(String csv) {
        return Arrays.stream(csv.split(",")).mapToInt(Integer::parseInt).toArray();
    }

    private static String join(int[] v) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < v.length; i++) {
            b.append(i == 0 ? "" : ",").append(v[i]);
        }
        return b.toString();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ResNetConfig c && c.family.equals(family) && c.kernel == kernel && Arrays.equals(c.pools, pools)
                && c.block == block && Arrays.equals(c.layers, layers) && c.groups == groups
                && c.widthPerGroup == widthPerGroup && c.numClasses == numClasses && c.inChannels == inChannels
                && c.stemChannels == stemChannels && Arrays.equals(c.planes, planes)
                && c.transformInput == transformInput && c.auxLogits == auxLogits
                && java.util.Objects.equals(c.swin, swin) && java.util.Objects.equals(c.vit, vit);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(layers) * 31 + Arrays.hashCode(planes) + java.util.Objects.hashCode(block) + 7 * groups + widthPerGroup + 13 * numClasses;
    }

    @Override
    public String toString() {
        String a = architecture();
        if (isInception()) {
            return "inception_v3(classes=" + numClasses + ", in_channels=" + inChannels + ", transform_input=" + transformInput
                    + ", aux_logits=" + auxLogits + ")";
        }
        return a.equals("custom") ? (isSwin() ? "Swin(" : isVit() ? "ViT(" : isCbr() ? "CBR(" : "ResNet(") + describe() + ")" : a + "(classes=" + numClasses + ", in_channels=" + inChannels + ")";
    }
}
