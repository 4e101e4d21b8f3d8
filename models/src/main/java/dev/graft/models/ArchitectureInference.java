package dev.graft.models;

import dev.graft.engine.HostTensor;
import dev.graft.engine.Shape;
import dev.graft.engine.StateDict;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Reads a network's configuration from a state dict ({@link Architectures#recognize}: a CBR network, or a ResNet).
 * A ResNet's configuration comes from state-dict keys and shapes: block type from {@code layer1.0.conv3},
 * blocks per stage from the highest {@code layerN.i} index, stem width and input channels from
 * {@code conv1.weight} [stem, in, 7, 7], stage planes from each stage's first block, groups from the grouped
 * 3x3 {@code conv2.weight} [width, width/groups, 3, 3], width per group from width = floor(planes * wpg / 64) *
 * groups, and classes from {@code fc.weight} [classes, features].
 */
public final class ArchitectureInference {
    private ArchitectureInference() {
    }

    /** Infers from a state dict (common wrapper prefixes stripped first, see {@link KeyPrefixes}). */
    public static ResNetConfig infer(StateDict state) {
        Map<String, Shape> shapes = new LinkedHashMap<>();
        for (Map.Entry<String, HostTensor> e : KeyPrefixes.stripCommon(state).state().tensors().entrySet()) {
            shapes.put(e.getKey(), e.getValue().shape());
        }
        return infer(shapes);
    }

    /** The architecture of these keys and shapes, of whichever registry family they are ({@link Architectures#recognize}). */
    public static ResNetConfig infer(Map<String, Shape> shapes) {
        return Architectures.recognize(shapes);
    }

    static ResNetConfig inferResNet(Map<String, Shape> shapes) {
        Shape conv1 = require(shapes, "conv1.weight", 4);
        Shape fc = require(shapes, "fc.weight", 2);
        BlockType block = shapes.containsKey("layer1.0.conv3.weight") ? BlockType.BOTTLENECK : BlockType.BASIC;
        int[] layers = new int[4];
        int[] planes = new int[4];
        for (int s = 0; s < 4; s++) {
            String stage = "layer" + (s + 1) + ".";
            while (shapes.containsKey(stage + layers[s] + ".conv1.weight")) {
                layers[s]++;
            }
            if (layers[s] == 0) {
                throw notResNet("no key " + stage + "0.conv1.weight");
            }
            planes[s] = block == BlockType.BASIC ? require(shapes, stage + "0.conv1.weight", 4).dim(0)
                    : require(shapes, stage + "0.conv3.weight", 4).dim(0) / BlockType.BOTTLENECK.expansion();
        }
        int groups = 1;
        int widthPerGroup = 64;
        if (block == BlockType.BOTTLENECK) {
            Shape conv2 = require(shapes, "layer1.0.conv2.weight", 4);
            groups = conv2.dim(0) / conv2.dim(1);
            int perGroup = conv2.dim(0) / groups;
            if (groups * conv2.dim(1) != conv2.dim(0) || perGroup * 64 % planes[0] != 0) {
                throw notResNet("layer1.0.conv2.weight " + conv2 + " fits no groups / width-per-group pair");
            }
            widthPerGroup = perGroup * 64 / planes[0];
            for (int s = 0; s < 4; s++) {
                String key = "layer" + (s + 1) + ".0.conv2.weight";
                int width = require(shapes, key, 4).dim(0);
                if (Bottleneck.innerWidth(planes[s], groups, widthPerGroup) != width) {
                    throw notResNet(key + " has width " + width + ", but groups " + groups + " and width per group "
                            + widthPerGroup + " inferred from layer1 give " + Bottleneck.innerWidth(planes[s], groups, widthPerGroup));
                }
            }
        }
        if (fc.dim(1) != planes[3] * block.expansion()) {
            throw notResNet("fc.weight " + fc + " does not take the " + planes[3] * block.expansion() + " pooled features of layer4");
        }
        return new ResNetConfig(block, layers, groups, widthPerGroup, fc.dim(0), conv1.dim(1), conv1.dim(0), planes);
    }

    private static Shape require(Map<String, Shape> shapes, String key, int rank) {
        Shape s = shapes.get(key);
        if (s == null || s.rank() != rank) {
            throw notResNet(s == null ? "no key " + key : key + " has shape " + s + ", expected rank " + rank);
        }
        return s;
    }

    private static ModelException notResNet(String why) {
        return new ModelException("cannot infer a torchvision ResNet from this state dict: " + why
                + " (name the architecture instead, e.g. resnet50, or check the file is a ResNet state dict)");
    }
}
