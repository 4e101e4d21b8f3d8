package dev.graft.models;

import dev.graft.engine.DType;
import dev.graft.engine.Device;
import dev.graft.engine.Functional;
import dev.graft.engine.Tensor;
import dev.graft.engine.backend.Conv2dSpec;

/**
 * {@code torch.nn.Conv2d} with square kernels, symmetric padding and dilation 1: weight [out, in/groups, k, k]
 * (OIHW, as torchvision), optional bias [out]. Built with zeros; {@link Init} fills it.
 */
public final class Conv2d extends Module {
    private int inChannels;
    private final int outChannels;
    private final int kernelSize;
    private final int kernelW;
    private final Conv2dSpec spec;
    private final Parameter weight;
    private final Parameter bias;

    public Conv2d(int inChannels, int outChannels, int kernelSize, int stride, int padding, int groups, boolean bias,
                  Device device, DType dtype) {
        if (inChannels < 1 || outChannels < 1 || kernelSize < 1 || stride < 1 || padding < 0 || groups < 1
                || inChannels % groups != 0 || outChannels % groups != 0) {
            throw new ModelException("Conv2d(" + inChannels + ", " + outChannels + ", kernel " + kernelSize + ", stride "
                    + stride + ", padding " + padding + ", groups " + groups
                    + "): channels and kernel must be >= 1, padding >= 0, and groups must divide both channel counts");
        }
        this.inChannels = inChannels;
        this.outChannels = outChannels;
        this.kernelSize = kernelSize;
        this.kernelW = kernelSize;
        this.spec = Conv2dSpec.of(stride, padding, 1, groups);
        this.weight = registerParameter("weight",
                Tensor.zeros(device, dtype, outChannels, inChannels / groups, kernelSize, kernelSize));
        this.bias = bias ? registerParameter("bias", Tensor.zeros(device, dtype, outChannels)) : null;
    }

    /**
     * {@code nn.Conv2d(in, out, (kernelH, kernelW), stride, padding)} with the stride and padding per axis of
     * {@code spec} (dilation 1): InceptionV3's 1x7 / 7x1 / 1x3 / 3x1 convolutions.
     */
    public Conv2d(int inChannels, int outChannels, int kernelH, int kernelW, Conv2dSpec spec, boolean bias,
                  Device device, DType dtype) {
        int groups = spec.groups();
        if (inChannels < 1 || outChannels < 1 || kernelH < 1 || kernelW < 1 || spec.strideH() < 1 || spec.strideW() < 1
                || spec.padH() < 0 || spec.padW() < 0 || spec.dilationH() != 1 || spec.dilationW() != 1 || groups < 1
                || inChannels % groups != 0 || outChannels % groups != 0) {
            throw new ModelException("Conv2d(" + inChannels + ", " + outChannels + ", kernel " + kernelH + "x" + kernelW + ", "
                    + spec + "): channels, kernel and stride must be >= 1, padding >= 0, dilation 1, and groups must divide both channel counts");
        }
        this.inChannels = inChannels;
        this.outChannels = outChannels;
        this.kernelSize = kernelH;
        this.kernelW = kernelW;
        this.spec = spec;
        this.weight = registerParameter("weight", Tensor.zeros(device, dtype, outChannels, inChannels / groups, kernelH, kernelW));
        this.bias = bias ? registerParameter("bias", Tensor.zeros(device, dtype, outChannels)) : null;
    }

    @Override
    public Tensor forward(Tensor x) {
        return Functional.conv2d(x, weight.tensor(), bias == null ? null : bias.tensor(), spec);
    }

    public Parameter weight() {
        return weight;
    }

    /** The bias, or null (torchvision's ResNet convolutions have none). */
    public Parameter bias() {
        return bias;
    }

    public int inChannels() {
        return inChannels;
    }

    public int outChannels() {
        return outChannels;
    }

    /** The kernel's rows (its only size when square). */
    public int kernelSize() {
        return kernelSize;
    }

    /** The kernel's columns. */
    public int kernelW() {
        return kernelW;
    }

    public Conv2dSpec spec() {
        return spec;
    }

    /**
     * Turns an RGB convolution into a one-channel one by summing the kernels over the input channels (timm's
     * {@code adapt_input_conv}, fastai's {@code n_in=1}): a gray image g then gives exactly the response the
     * RGB kernels give to (g, g, g), and the signal scale the pretrained layers expect is kept. The new
     * weight lives in the scope that owned the old one.
     */
    void sumInputChannels() {
        if (spec.groups() != 1 || kernelW != kernelSize) {
            throw new ModelException("cannot sum the input channels of grouped or non-square convolution " + this);
        }
        int k = kernelSize;
        float[] w = weight.tensor().toFloatArray();
        float[] summed = new float[outChannels * k * k];
        for (int o = 0; o < outChannels; o++) {
            for (int i = 0; i < k * k; i++) {
                double s = 0;
                for (int c = 0; c < inChannels; c++) {
                    s += w[(o * inChannels + c) * k * k + i];
                }
                summed[o * k * k + i] = (float) s;
            }
        }
        Tensor old = weight.tensor();
        try (var in = old.data().buffer().owner().enter()) {
            Tensor fresh = Tensor.zeros(old.device(), old.dtype(), outChannels, 1, k, k);
            fresh.data().backend().copyFromHost(fresh.data(), summed);
            weight.replace(fresh);
        }
        inChannels = 1;
    }

    @Override
    public String toString() {
        return "Conv2d(" + inChannels + ", " + outChannels + ", kernel " + kernelSize + (kernelW != kernelSize ? "x" + kernelW : "")
                + ", stride " + spec.strideH() + ", padding " + spec.padH() + (spec.padW() != spec.padH() ? "x" + spec.padW() : "") + (spec.groups() > 1 ? ", groups " + spec.groups() : "")
                + (bias == null ? ", no bias" : "") + ") '" + path() + "'";
    }
}
