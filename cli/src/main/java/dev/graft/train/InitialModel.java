package dev.graft.train;

import dev.graft.engine.Device;
import dev.graft.engine.StateDict;
import dev.graft.models.ResNet;
import dev.graft.models.ResNetConfig;

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
        if (m.config().isSwin()) {
            out.println("batch norm: " + m.config().architecture() + " has none (layer norms only); --bn-policy does not apply");
        }
        return m;
    }

    private static ResNet buildModel(TrainConfig cfg, StateDict weights, int classes, Device device, PrintStream out) {
        if (weights == null) {
            String arch = cfg.arch() == null ? "resnet18" : cfg.arch();
            // A torchvision name, or a full config line as ResNetConfig.describe() writes it (narrow custom widths).
            var builder = arch.contains("=") ? ResNet.builder(ResNetConfig.parse(arch).withNumClasses(classes))
                    : ResNet.builder(arch).numClasses(classes);
            return builder.device(device).seed(cfg.seed()).build();
        }
        ResNet m;
        if (cfg.arch() != null && cfg.arch().contains("=")) {
            m = ResNet.fromStateDict(weights, device);
            var want = ResNetConfig.parse(cfg.arch()).withNumClasses(m.config().numClasses());
            if (!want.equals(m.config())) {
                m.close();
                throw new TrainingException("--weights " + cfg.weights() + " hold " + m.config().describe() + ", not --arch " + cfg.arch());
            }
        } else {
            m = cfg.arch() == null ? ResNet.fromStateDict(weights, device) : ResNet.fromStateDict(weights, cfg.arch(), device);
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
