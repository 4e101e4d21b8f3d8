package dev.graft.models;

import dev.graft.engine.DType;
import dev.graft.engine.Device;

/**
 * Options for a new {@link ResNet}: classes, input channels, device, dtype, seed, {@code zero_init_residual},
 * whether to initialise at all (not when weights will be loaded), batch-norm policy. {@link #build()} allocates
 * the model in its own scope.
 */
public final class ResNetBuilder {
    private ResNetConfig config;
    private Device device = Device.REFERENCE; // plain Java; pass the device the caller resolved (cpu, cuda)
    private DType dtype = DType.F32;
    private long seed;
    private boolean zeroInitResidual;
    private boolean initialize = true;
    private BatchNormPolicy policy = BatchNormPolicy.TRACK;

    ResNetBuilder(ResNetConfig config) {
        this.config = config;
    }

    public ResNetBuilder numClasses(int n) {
        config = config.withNumClasses(n);
        return this;
    }

    /** 1 for a grayscale stem built from scratch; to reuse RGB weights use {@link ResNet#adaptToGrayscale()}. */
    public ResNetBuilder inChannels(int n) {
        config = config.withInChannels(n);
        return this;
    }

    public ResNetBuilder device(Device d) {
        device = d;
        return this;
    }

    /** F32 (default) or F64 (reference backend only: tight gradient checks). */
    public ResNetBuilder dtype(DType t) {
        dtype = t;
        return this;
    }

    /** Seed of the Java generator that draws the initial weights. */
    public ResNetBuilder seed(long s) {
        seed = s;
        return this;
    }

    public ResNetBuilder zeroInitResidual(boolean flag) {
        zeroInitResidual = flag;
        return this;
    }

    /** false: skip random initialisation (zeros, BN weight 1) because weights will be loaded. */
    public ResNetBuilder initialize(boolean flag) {
        initialize = flag;
        return this;
    }

    public ResNetBuilder batchNormPolicy(BatchNormPolicy p) {
        policy = p;
        return this;
    }

    public ResNet build() {
        if (!dtype.isFloating()) {
            throw new ModelException("a model computes in F32 or F64, not " + dtype);
        }
        ResNet m = ResNet.allocate(config, device, dtype, seed + 1);
        if (initialize && config.isInception()) {
            Init.inception(m, seed);
        } else if (initialize) {
            Init.torchvision(m, seed, zeroInitResidual);
            m.seedStochasticDepth(seed);
        }
        m.setBatchNormPolicy(policy);
        return m;
    }
}
