package dev.graft.models;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A Swin Transformer (v1, torchvision's {@code SwinTransformer}) configuration: patch size, embedding width, blocks
 * and heads per stage, window, stochastic depth at the last block, classes and input channels. {@link #swinT}
 * is torchvision's {@code swin_t}; narrower ones are for tests.
 */
public record SwinConfig(String name, int patch, int embed, int[] depths, int[] heads, int window,
                         double stochasticDepth, int numClasses, int inChannels) {

    public SwinConfig {
        depths = depths.clone();
        heads = heads.clone();
        if (depths.length == 0 || depths.length != heads.length) {
            throw new ModelException("swin: depths " + Arrays.toString(depths) + " and heads " + Arrays.toString(heads)
                    + " must be non-empty and of equal length");
        }
        for (int s = 0; s < depths.length; s++) {
            if (depths[s] < 1 || heads[s] < 1 || ((embed << s) % heads[s]) != 0) {
                throw new ModelException("swin: stage " + (s + 1) + " needs >= 1 block and a head count dividing its width "
                        + (embed << s));
            }
        }
        if (patch < 1 || embed < 1 || window < 1 || numClasses < 1 || inChannels < 1
                || !(stochasticDepth >= 0 && stochasticDepth < 1)) {
            throw new ModelException("swin: patch, embed, window, classes and channels must be >= 1 and stochastic "
                    + "depth in [0, 1)");
        }
    }

    /** torchvision's {@code swin_t}: patch 4, embed 96, depths 2-2-6-2, heads 3-6-12-24, window 7, stochastic depth 0.2. */
    public static SwinConfig swinT(int numClasses) {
        return new SwinConfig("swin_t", 4, 96, new int[] {2, 2, 6, 2}, new int[] {3, 6, 12, 24}, 7, 0.2, numClasses, 3);
    }

    public SwinConfig withNumClasses(int n) {
        return new SwinConfig(name, patch, embed, depths, heads, window, stochasticDepth, n, inChannels);
    }

    public SwinConfig withInChannels(int n) {
        return new SwinConfig(name, patch, embed, depths, heads, window, stochasticDepth, numClasses, n);
    }

    public int featureWidth() {
        return embed << (depths.length - 1);
    }

    /** The metadata line ({@code graft.swin}) that {@link #parse} reads back. */
    public String describe() {
        return "family=swin patch=" + patch + " embed=" + embed + " depths=" + join(depths) + " heads=" + join(heads)
                + " window=" + window + " stochastic_depth=" + stochasticDepth + " classes=" + numClasses
                + " in_channels=" + inChannels;
    }

    public static SwinConfig parse(String line) {
        if (line.trim().equals("swin_t")) {
            return swinT(1000);
        }
        Map<String, String> kv = new LinkedHashMap<>();
        for (String part : line.trim().split("\\s+")) {
            int eq = part.indexOf('=');
            if (eq < 1) {
                throw new ModelException("swin configuration '" + line + "': expected key=value pairs");
            }
            kv.put(part.substring(0, eq), part.substring(eq + 1));
        }
        Set<String> need = Set.of("family", "patch", "embed", "depths", "heads", "window", "stochastic_depth", "classes",
                "in_channels");
        if (!kv.keySet().equals(need) || !"swin".equals(kv.get("family"))) {
            throw new ModelException("swin configuration '" + line + "': needs exactly the keys " + need + " with family=swin");
        }
        try {
            return new SwinConfig("swin", Integer.parseInt(kv.get("patch")), Integer.parseInt(kv.get("embed")),
                    ints(kv.get("depths")), ints(kv.get("heads")), Integer.parseInt(kv.get("window")),
                    Double.parseDouble(kv.get("stochastic_depth")), Integer.parseInt(kv.get("classes")),
                    Integer.parseInt(kv.get("in_channels")));
        } catch (NumberFormatException e) {
            throw new ModelException("swin configuration '" + line + "': " + e.getMessage());
        }
    }

    private static final Pattern BLOCK = Pattern.compile("features\\.(\\d+)\\.(\\d+)\\.attn\\.qkv\\.weight");

    /**
     * Recognises a torchvision Swin (v1) state dict from its keys and shapes ({@code features.0.0.weight} a p x p
     * convolution followed by {@code features.1.0.attn.relative_position_bias_table}); null when it is not one.
     * Stochastic depth leaves no trace in a state dict: swin_t's 0.2 is taken when the shapes are swin_t's.
     */
    public static SwinConfig recognize(Map<String, int[]> shapes) {
        int[] conv = shapes.get("features.0.0.weight");
        int[] table = shapes.get("features.1.0.attn.relative_position_bias_table");
        int[] headW = shapes.get("head.weight");
        if (conv == null || conv.length != 4 || table == null || table.length != 2 || headW == null || headW.length != 2) {
            return null;
        }
        int embed = conv[0];
        int side = (int) Math.round(Math.sqrt(table[0]));
        if (side * side != table[0] || side % 2 == 0) {
            return null;
        }
        int window = (side + 1) / 2;
        Map<Integer, Integer> blocks = new java.util.TreeMap<>();
        Map<Integer, Integer> headsAt = new java.util.TreeMap<>();
        for (Map.Entry<String, int[]> e : shapes.entrySet()) {
            Matcher m = BLOCK.matcher(e.getKey());
            if (m.matches()) {
                int f = Integer.parseInt(m.group(1));
                int b = Integer.parseInt(m.group(2));
                blocks.merge(f, b + 1, Math::max);
                int[] t = shapes.get("features." + f + "." + b + ".attn.relative_position_bias_table");
                if (t != null && t.length == 2) {
                    headsAt.put(f, t[1]);
                }
            }
        }
        int stages = blocks.size();
        int[] depths = new int[stages];
        int[] heads = new int[stages];
        for (int s = 0; s < stages; s++) {
            Integer d = blocks.get(2 * s + 1);
            Integer h = headsAt.get(2 * s + 1);
            if (d == null || h == null) {
                return null;
            }
            depths[s] = d;
            heads[s] = h;
        }
        try {
            SwinConfig c = new SwinConfig("swin", conv[2], embed, depths, heads, window, 0.0, headW[0], conv[1]);
            SwinConfig t = swinT(headW[0]);
            if (c.patch == t.patch && c.embed == t.embed && Arrays.equals(c.depths, t.depths)
                    && Arrays.equals(c.heads, t.heads) && c.window == t.window && c.inChannels == t.inChannels) {
                return t;
            }
            return c;
        } catch (ModelException e) {
            return null;
        }
    }

    private static String join(int[] v) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < v.length; i++) {
            b.append(i == 0 ? "" : ",").append(v[i]);
        }
        return b.toString();
    }

    private static int[] ints(String s) {
        String[] p = s.split(",");
        int[] out = new int[p.length];
        for (int i = 0; i < p.length; i++) {
            out[i] = Integer.parseInt(p[i].trim());
        }
        return out;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SwinConfig c && describe().equals(c.describe());
    }

    @Override
    public int hashCode() {
        return describe().hashCode();
    }

    @Override
    public String toString() {
        return name + " (" + describe() + ")";
    }
}
