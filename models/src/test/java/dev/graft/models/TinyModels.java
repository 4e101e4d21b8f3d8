package dev.graft.models;

import dev.graft.engine.Device;
import dev.graft.engine.Tensor;

import java.util.SplittableRandom;

/** Narrow ResNets and inputs that keep model tests fast on the reference backend. */
final class TinyModels {
    private TinyModels() {
    }

    /** BasicBlock [1,1,1,1], stem 4, planes 4/8/8/16, 3 classes: the resnet18 topology, narrow. */
    static ResNetConfig basic() {
        return ResNetConfig.of(BlockType.BASIC, 1, 1, 1, 1).withWidths(4, 4, 8, 8, 16).withNumClasses(3);
    }

    /** Bottleneck [2,1,1,1], groups 2, width per group 64, stem 4, planes 4/4/8/8, 3 classes: a narrow resnext. */
    static ResNetConfig bottleneck() {
        return ResNetConfig.of(BlockType.BOTTLENECK, 2, 1, 1, 1).withWidths(4, 4, 4, 8, 8).withGroups(2, 64).withNumClasses(3);
    }

    static ResNet build(ResNetConfig config, long seed) {
        return ResNet.builder(config).device(Device.REFERENCE).seed(seed).build();
    }

    /** Standard-normal values for an [n, c, size, size] batch, in the current scope. */
    static Tensor images(int n, int c, int size, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] v = new float[n * c * size * size];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) r.nextGaussian();
        }
        return Tensor.fromArray(Device.REFERENCE, v, n, c, size, size);
    }
}
