package dev.graft.models;

import dev.graft.engine.DType;
import dev.graft.engine.Device;
import dev.graft.engine.Functional;
import dev.graft.engine.Tensor;

/**
 * torchvision's {@code BasicBlock} (expansion 1): conv3x3(stride) bn relu conv3x3 bn, plus the identity or
 * {@code downsample}, then relu. Keys: conv1, bn1, conv2, bn2, downsample.0, downsample.1.
 */
public final class BasicBlock extends Module {
    public static final int EXPANSION = 1;

    private final Conv2d conv1;
    private final BatchNorm2d bn1;
    private final Conv2d conv2;
    private final BatchNorm2d bn2;
    private final Module downsample;

    /** {@code downsample} may be null (identity shortcut). */
    public BasicBlock(int inplanes, int planes, int stride, Module downsample, Device device, DType dtype) {
        conv1 = registerModule("conv1", new Conv2d(inplanes, planes, 3, stride, 1, 1, false, device, dtype));
        bn1 = registerModule("bn1", new BatchNorm2d(planes, device, dtype));
        registerModule("relu", new ReLU()); // as torchvision registers it; forward fuses it into bn1 and the add
        conv2 = registerModule("conv2", new Conv2d(planes, planes, 3, 1, 1, 1, false, device, dtype));
        bn2 = registerModule("bn2", new BatchNorm2d(planes, device, dtype));
        this.downsample = downsample == null ? null : registerModule("downsample", downsample);
    }

    /**
     * torchvision's forward; each batch norm + relu and the final add + relu run as one fused primitive, and each
     * convolution's output is freed once its batch norm has run, unless backward reads it ({@link Stages}).
     */
    @Override
    public Tensor forward(Tensor x) {
        Tensor a = Stages.run(() -> bn1.forwardRelu(conv1.forward(x)));
        Tensor b = Stages.consume(a, t -> bn2.forward(conv2.forward(t)));
        Tensor identity = downsample == null ? x : Stages.run(() -> downsample.forward(x));
        return Functional.addRelu(b, identity);
    }

    /** The batch norm that {@code zero_init_residual} zeroes. */
    public BatchNorm2d lastBatchNorm() {
        return bn2;
    }
}
