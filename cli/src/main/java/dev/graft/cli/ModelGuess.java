package dev.graft.cli;

import dev.graft.engine.Shape;
import dev.graft.loaders.KeyPrefixes;
import dev.graft.models.ArchitectureInference;
import dev.graft.models.ModelException;
import dev.graft.models.ResNetConfig;
import dev.graft.models.ViTConfig;
import dev.graft.models.VisionTransformer;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What a state dict's keys and shapes say about its model, read without tensor data: a torchvision ResNet or a
 * Transfusion CBR network (one of the named architectures, or a custom configuration; {@code Architectures}
 * recognises them) or neither, and why not. Wrapper prefixes
 * ({@link KeyPrefixes#KNOWN}) are looked through, as loading would.
 */
record ModelGuess(ResNetConfig config, String prefix, String notResNetBecause, ViTConfig vit, boolean headsKnown) {
    private static final String INFERENCE_PREAMBLE = "cannot infer a torchvision ResNet from this state dict: ";
    private static final String INFERENCE_ADVICE = " (name the architecture instead";

    static ModelGuess of(Map<String, Shape> shapes) {
        return of(shapes, Map.of());
    }

    /**
     * As {@link #of(Map)}; a vision transformer's head count, which keys do not record, is taken from the file's own
     * configuration line ({@code graft.vit}, or {@code graft.resnet} with {@code family=vit}) when that line agrees
     * with the keys on everything else.
     */
    static ModelGuess of(Map<String, Shape> shapes, Map<String, String> metadata) {
        String prefix = "";
        Map<String, Shape> keys = shapes;
        for (String p = commonKnownPrefix(keys); !p.isEmpty(); p = commonKnownPrefix(keys)) {
            Map<String, Shape> stripped = new LinkedHashMap<>();
            for (Map.Entry<String, Shape> e : keys.entrySet()) {
                stripped.put(e.getKey().substring(p.length()), e.getValue());
            }
            keys = stripped;
            prefix += p;
        }
        if (keys.containsKey("class_token") || keys.containsKey("cls_token")) {
            try {
                ViTConfig seen = VisionTransformer.recognize(keys);
                ViTConfig stated = stated(metadata);
                if (stated != null && stated.naming() == seen.naming() && stated.withNumClasses(seen.numClasses()).equals(
                        new ViTConfig(stated.architecture(), seen.naming(), seen.imageSize(), seen.patch(), seen.hidden(), seen.depth(),
                                stated.heads(), seen.mlp(), seen.numClasses(), seen.inChannels()))) {
                    return new ModelGuess(null, prefix, null, stated, true);
                }
                return new ModelGuess(null, prefix, null, seen, !seen.architecture().equals("custom"));
            } catch (ModelException e) {
                return new ModelGuess(null, prefix, e.getMessage(), null, false);
            }
        }
        try {
            return new ModelGuess(ArchitectureInference.infer(keys), prefix, null, null, false);
        } catch (ModelException e) {
            return new ModelGuess(null, prefix, reason(e.getMessage()), null, false);
        }
    }

    /** The file's vision-transformer line, or null (none, or one that does not parse: the keys decide then). */
    private static ViTConfig stated(Map<String, String> metadata) {
        String line = metadata.get(VisionTransformer.META_CONFIG);
        if (line == null) {
            line = metadata.get(dev.graft.models.ResNet.META_CONFIG);
        }
        if (line == null || !line.contains("family=vit")) {
            return null;
        }
        try {
            return ViTConfig.parse(line);
        } catch (ModelException e) {
            return null;
        }
    }

    /** A plain vision transformer (torchvision's ViT or timm's DeiT names). */
    boolean isVit() {
        return vit != null;
    }

    boolean isResNet() {
        return config != null;
    }

    /** "resnet18", "custom ResNet" or "not a ResNet". */
    String name() {
        if (vit != null) {
            return vit.architecture().equals("custom") ? "custom vision transformer" : vit.architecture();
        }
        if (config == null) {
            return "not a ResNet";
        }
        String a = config.architecture();
        return a.equals("custom") ? (config.isSwin() ? "custom Swin" : config.isVit() ? "custom vision transformer" : config.isCbr() ? "custom CBR" : "custom ResNet") : a;
    }

    /** One line for the terminal. */
    String describe() {
        if (vit != null) {
            String names = vit.naming() == ViTConfig.Naming.TIMM ? "timm's names" : "torchvision's names";
            return (vit.architecture().equals("custom") ? "custom vision transformer (" + vit.describe() + (headsKnown ? ")" : "; heads="
                    + vit.heads() + " is a guess: a state dict does not record the number of heads)")
                    : vit.architecture() + " (vision transformer, " + names + "), " + vit.numClasses() + " classes, "
                    + vit.imageSize() + "x" + vit.imageSize() + " images, patch " + vit.patch())
                    + (prefix.isEmpty() ? "" : ", keys prefixed '" + prefix + "'");
        }
        if (config == null) {
            return "not a ResNet: " + notResNetBecause;
        }
        String a = config.architecture();
        return (a.equals("custom") ? (config.isSwin() ? "custom Swin (" : config.isVit() ? "custom vision transformer (" : config.isCbr() ? "custom CBR (" : "custom ResNet (") + config.describe() + ")"
                : a + (config.isCbr() ? " (Transfusion CBR), " : " (torchvision), ") + config.numClasses() + " classes, " + config.inChannels() + " input channel"
                        + (config.inChannels() == 1 ? "" : "s"))
                + (prefix.isEmpty() ? "" : ", keys prefixed '" + prefix + "'");
    }

    private static String commonKnownPrefix(Map<String, Shape> keys) {
        if (keys.isEmpty()) {
            return "";
        }
        for (String p : KeyPrefixes.KNOWN) {
            if (keys.keySet().stream().allMatch(k -> k.startsWith(p) && k.length() > p.length())) {
                return p;
            }
        }
        return "";
    }

    /** The inference error without its preamble and its advice to name an architecture. */
    private static String reason(String message) {
        String m = message.startsWith(INFERENCE_PREAMBLE) ? message.substring(INFERENCE_PREAMBLE.length()) : message;
        int advice = m.indexOf(INFERENCE_ADVICE);
        return advice > 0 ? m.substring(0, advice) : m;
    }
}
