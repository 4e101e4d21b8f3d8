package dev.graft.cli;

import dev.graft.engine.Device;
import dev.graft.engine.GraftException;
import dev.graft.engine.HostTensor;
import dev.graft.engine.Shape;
import dev.graft.engine.StateDict;
import dev.graft.models.ModelException;
import dev.graft.models.StateDictMismatchException;
import dev.graft.models.ViTConfig;
import dev.graft.models.VisionTransformer;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * {@code graft forward} on a plain vision transformer: when {@code --arch} names one ({@code vit_b_16}, {@code deit_s},
 * ...) or, without {@code --arch}, the file carries {@code graft.vit} metadata or a class token. The model is built for
 * the input's image size: a position embedding made for another size is interpolated when the weights load.
 */
final class ForwardVit {
    private ForwardVit() {
    }

    static boolean applies(String arch, StateDict state) {
        if (arch != null) {
            return ViTConfig.isNamed(arch.trim().toLowerCase(Locale.ROOT));
        }
        return state.metadata().containsKey(VisionTransformer.META_CONFIG) || state.contains("class_token") || state.contains("cls_token");
    }

    static VisionTransformer build(StateDict state, String arch, HostTensor x, Device dev, Path weights) {
        Shape s = x.shape();
        if (s.dim(2) != s.dim(3)) {
            throw new GraftException("--input: a vision transformer takes square images, got " + s);
        }
        try {
            String described = state.metadata().get(VisionTransformer.META_CONFIG);
            Map<String, Shape> shapes = new LinkedHashMap<>();
            state.tensors().forEach((k, v) -> shapes.put(k, v.shape()));
            ViTConfig config;
            if (arch != null) {
                ViTConfig seen = VisionTransformer.recognize(shapes);
                config = ViTConfig.named(arch.trim().toLowerCase(Locale.ROOT), seen.numClasses()).withInChannels(seen.inChannels());
            } else {
                config = described != null ? ViTConfig.parse(described) : VisionTransformer.recognize(shapes);
                if (described == null && config.architecture().equals("custom")) {
                    throw new GraftException("--weights " + weights + ": a vision transformer of custom width (" + config.describe()
                            + "); a state dict does not record the number of heads, so it runs only from a file with graft.vit metadata");
                }
            }
            if (s.dim(2) % config.patch() != 0) {
                throw new GraftException("--input: images of " + s.dim(2) + " pixels are not a multiple of the patch size " + config.patch());
            }
            if (s.dim(1) != config.inChannels()) {
                throw new GraftException("--input: " + config.architecture() + " takes " + config.inChannels() + " channels, got " + s);
            }
            return VisionTransformer.fromStateDict(state, config.withImageSize(s.dim(2)), dev);
        } catch (StateDictMismatchException e) {
            throw new GraftException("--weights " + weights + " does not fit " + (arch == null ? "the vision transformer it looks like" : arch)
                    + ": " + e.getMessage());
        } catch (ModelException e) {
            throw new GraftException("--weights " + weights + ": " + e.getMessage());
        }
    }
}
