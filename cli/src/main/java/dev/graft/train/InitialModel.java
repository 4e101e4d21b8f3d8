package dev.graft.train;

import dev.graft.engine.Device;
import dev.graft.engine.StateDict;
import dev.graft.models.ResNet;
import dev.graft.models.ResNetConfig;
import dev.graft.models.ViTConfig;

import java.io.PrintStream;

/**
 * The network a run starts from, as {@code graft train} builds it: pretrained weights (architecture inferred, or
 * checked against {@code --arch}) with a new head when their class count differs, else a seeded random network.
 */
final class InitialModel {
    private InitialModel() {
    }

    static ResNet build(TrainConfig cfg, StateDict weights, int classes, Device device, PrintStream out) {
        ResNet m = buildModel(cfg, weights, classes, device, out);
        if (m.config().isTransformer()) { // Swin and the plain vision transformers
            out.println("batch norm: " + m.config().architecture() + " has none (layer norms only); --bn-policy does not apply");
        }
        return m;
    }

    /** A vision transformer for --image-size (its position embedding interpolated on load); other families as they are. */
    private static ResNetConfig sized(ResNetConfig config, TrainConfig cfg) {
        return config.isVit() ? config.withImageSize(cfg.imageSize()) : config;
    }

    private static ResNetConfig withHeads(ResNetConfig c, int heads) {
        ViTConfig v = c.vitConfig();
        return ResNetConfig.vit(new ViTConfig(v.architecture(), v.naming(), v.imageSize(), v.patch(), v.hidden(), v.depth(), heads,
                v.mlp(), v.numClasses(), v.inChannels()));
    }

    private static ResNet buildModel(TrainConfig cfg, StateDict weights, int classes, Device device, PrintStream out) {
        if (weights == null) {
            String arch = cfg.arch() == null ? "resnet18" : cfg.arch();
            // A torchvision name, or a full config line as ResNetConfig.describe() writes it (narrow custom widths).
            ResNetConfig config = arch.contains("=") ? ResNetConfig.parse(arch) : ResNetConfig.named(arch, classes);
            return ResNet.builder(sized(config, cfg).withNumClasses(classes)).device(device).seed(cfg.seed()).build();
        }
        ResNet m;
        if (cfg.arch() != null && cfg.arch().contains("=")) {
            ResNetConfig found = ResNet.configOf(weights);
            var want = ResNetConfig.parse(cfg.arch()).withNumClasses(found.numClasses());
            if (want.isVit() && found.isVit() && weights.metadata().get(ResNet.META_CONFIG) == null) {
                found = withHeads(found, want.vitConfig().heads()); // a state dict does not record them: --arch says
            }
            if (!sized(want, cfg).equals(sized(found, cfg))) {
                throw new TrainingException("--weights " + cfg.weights() + " hold " + found.describe() + ", not --arch " + cfg.arch());
            }
            m = ResNet.fromStateDict(weights, sized(found, cfg), device);
        } else {
            ResNetConfig found = cfg.arch() == null ? ResNet.configOf(weights) : ResNet.configOf(weights, cfg.arch());
            if (found.isVit() && found.architecture().equals("custom") && weights.metadata().get(ResNet.META_CONFIG) == null) {
                throw new TrainingException("--weights " + cfg.weights() + " hold a vision transformer of a custom width ("
                        + found.describe() + "), and a state dict does not record its number of heads: give --arch the "
                        + "configuration line with the right heads=");
            }
            m = ResNet.fromStateDict(weights, sized(found, cfg), device);
        }
        out.println("weights: " + cfg.weights() + " (" + m.config().architecture() + ", " + m.config().numClasses() + " classes in the file)");
        if (!Initialization.transfers(cfg)) { // before a new head, which starts random whatever the --init
            try {
                Initialization.apply(m, cfg);
            } catch (RuntimeException e) {
                m.close();
                throw e;
            }
            out.println("init: " + Initialization.describe(cfg) + " (seed " + cfg.seed() + "; see 'graft train --help' on --init)");
        }
        if (m.config().numClasses() != classes) {
            m.replaceHead(classes, cfg.seed());
            out.println("head: replaced fc with a new " + classes + "-class layer (initialised like torchvision's Linear)");
        }
        return m;
    }
}
