package dev.graft.models;

import dev.graft.engine.DType;
import dev.graft.engine.Device;
import dev.graft.engine.Functional;
import dev.graft.engine.Tensor;

/**
 * torchvision's {@code Bottleneck} (expansion 4, "ResNet V1.5": the stride sits on the 3x3 conv2):
 * conv1x1 bn relu, conv3x3(stride, groups) bn relu, conv1x1 bn, plus identity or downsample, relu.
 * Inner width = floor(planes * widthPerGroup / 64) * groups (ResNeXt and wide ResNets change it).
 * Keys: conv1, bn1, conv2, bn2, conv3, bn3, downsample.0, downsample.1.
 */
public final class Bottleneck extends Module {
    public static final int EXPANSION = 4;

    private final Conv2d conv1;
    private final BatchNorm2d bn1;
    private final Conv2d conv2;
    private final BatchNorm2d bn2;
    private final Conv2d conv3;
    private final BatchNorm2d bn3;
    private final Module downsample;

    public Bottleneck(int inplanes, int planes, int stride, Module downsample, int groups, int widthPerGroup,
                      Device device, DType dtype) {
        this(inplanes, innerWidth(planes, groups, widthPerGroup), planes * EXPANSION, stride, groups, downsample, device, dtype);
    }

    /** From widths already worked out ({@link Architectures} declares them): inner {@code width}, output {@code out}. */
    Bottleneck(int inplanes, int width, int out, int stride, int groups, Module downsample, Device device, DType dtype) {
        conv1 = registerModule("conv1", new Conv2d(inplanes, width, 1, 1, 0, 1, false, device, dtype));
        bn1 = registerModule("bn1", new BatchNorm2d(width, device, dtype));
        conv2 = registerModule("conv2", new Conv2d(width, width, 3, stride, 1, groups, false, device, dtype));
        bn2 = registerModule("bn2", new BatchNorm2d(width, device, dtype));
        conv3 = registerModule("conv3", new Conv2d(width, out, 1, 1, 0, 1, false, device, dtype));
        bn3 = registerModule("bn3", new BatchNorm2d(out, device, dtype));
        registerModule("relu", new ReLU()); // as torchvision registers it; forward fuses it into bn1, bn2 and the add
        this.downsample = downsample == null ? null : registerModule("downsample", downsample);
    }

    /** torchvision: {@code int(planes * (base_width / 64.0)) * groups}. */
    public static int innerWidth(int planes, int groups, int widthPerGroup) {
        return (int) (planes * (widthPerGroup / 64.0)) * groups;
    }

    /**
     * torchvision's forward; each batch norm + relu and the final add + relu run as one fused primitive, and each
     * convolution's output is freed once its batch norm has run, unless backward reads it ({@link Stages}).
     */
    @Override
    public Tensor forward(Tensor x) {
        Tensor a = Stages.run(() -> bn1.forwardRelu(conv1.forward(x)));
        Tensor b = Stages.consume(a, t -> bn2.forwardRelu(conv2.forward(t)));
        Tensor c = Stages.consume(b, t -> bn3.forward(conv3.forward(t)));
        Tensor identity = downsample == null ? x : Stages.run(() -> downsample.forward(x));
        return Functional.addRelu(c, identity);
    }

    /** The batch norm that {@code zero_init_residual} zeroes. */
    public BatchNorm2d lastBatchNorm() {
        return bn3;
    }
}
