package dev.graft.engine;

import dev.graft.engine.backend.AvgPool2dSpec;
import dev.graft.engine.backend.Backend;
import dev.graft.engine.backend.Conv2dSpec;
import dev.graft.engine.backend.Pool2dSpec;
import dev.graft.engine.functions.AddFunction;
import dev.graft.engine.functions.AddReluFunction;
import dev.graft.engine.functions.AvgPool2dFunction;
import dev.graft.engine.functions.BatchNormInferenceFunction;
import dev.graft.engine.functions.BatchNormTrainingFunction;
import dev.graft.engine.functions.BatchedMatMulFunction;
import dev.graft.engine.functions.ConcatFunction;
import dev.graft.engine.functions.IndexSelectFunction;
import dev.graft.engine.functions.NarrowFunction;
import dev.graft.engine.functions.LinearFunction;
import dev.graft.engine.functions.LinearAddFunction;
import dev.graft.engine.functions.LinearGeluFunction;
import dev.graft.engine.functions.PackedAttentionFunction;
import dev.graft.engine.functions.PermuteFunction;
import dev.graft.engine.functions.SoftmaxFunction;
import dev.graft.engine.functions.ConcatChannelsFunction;
import dev.graft.engine.functions.Conv2dFunction;
import dev.graft.engine.functions.GeluFunction;
import dev.graft.engine.functions.GlobalAvgPoolFunction;
import dev.graft.engine.functions.BceWithLogitsFunction;
import dev.graft.engine.functions.LayerNormFunction;
import dev.graft.engine.functions.LogSoftmaxFunction;
import dev.graft.engine.functions.MatMulFunction;
import dev.graft.engine.functions.MaxPool2dFunction;
import dev.graft.engine.functions.MulFunction;
import dev.graft.engine.functions.NllLossFunction;
import dev.graft.engine.functions.PadFunction;
import dev.graft.engine.functions.ReluFunction;
import dev.graft.engine.functions.ReshapeFunction;
import dev.graft.engine.functions.RollFunction;
import dev.graft.engine.functions.ScaleFunction;
import dev.graft.engine.functions.SumToFunction;

import java.util.Arrays;
import java.util.random.RandomGenerator;

/**
 * The differentiable ops, PyTorch's {@code torch.nn.functional} in spirit. Every shape, device and dtype check
 * happens here, once, with an error that names the op, the shapes and the rule; kernels trust their inputs.
 */
public final class Functional {
    private Functional() {
    }

    // ---- elementwise ----------------------------------------------------------------------------------

    /** {@code a + b}; one operand's shape must broadcast (right-aligned) to the other's. */
    public static Tensor add(Tensor a, Tensor b) {
        required("add", "a", a, "b", b);
        sameDeviceAndType("add", a, b);
        if (broadcastsTo(b.shape(), a.shape())) {
            return Tensor.apply(new AddFunction(), a, b);
        }
        if (broadcastsTo(a.shape(), b.shape())) {
            return Tensor.apply(new AddFunction(), b, a);
        }
        throw ShapeException.of("add", "one operand's shape must broadcast to the other's (right-aligned, each size equal or 1)",
                "a", a.shape(), "b", b.shape());
    }

    /** {@code a * b} elementwise; one operand's shape must broadcast to the other's. */
    public static Tensor mul(Tensor a, Tensor b) {
        required("mul", "a", a, "b", b);
        sameDeviceAndType("mul", a, b);
        if (broadcastsTo(b.shape(), a.shape())) {
            return Tensor.apply(new MulFunction(), a, b);
        }
        if (broadcastsTo(a.shape(), b.shape())) {
            return Tensor.apply(new MulFunction(), b, a);
        }
        throw ShapeException.of("mul", "one operand's shape must broadcast to the other's (right-aligned, each size equal or 1)",
                "a", a.shape(), "b", b.shape());
    }

    public static Tensor scale(Tensor a, double alpha) {
        required("mul", "a", a);
        floating("mul", a);
        return Tensor.apply(new ScaleFunction(alpha), a);
    }

    public static Tensor relu(Tensor x) {
        required("relu", "x", x);
        floating("relu", x);
        return Tensor.apply(new ReluFunction(), x);
    }

    /**
     * {@code relu(a + b)} as one primitive (a residual block's tail: no separate sum array); one operand's shape
     * must broadcast to the other's, as for {@link #add}. Values and gradients equal {@code add(a, b).relu()}'s.
     */
    public static Tensor addRelu(Tensor a, Tensor b) {
        required("add_relu", "a", a, "b", b);
        sameDeviceAndType("add_relu", a, b);
        if (broadcastsTo(b.shape(), a.shape())) {
            return Tensor.apply(new AddReluFunction(), a, b);
        }
        if (broadcastsTo(a.shape(), b.shape())) {
            return Tensor.apply(new AddReluFunction(), b, a);
        }
        throw ShapeException.of("add_relu", "one operand's shape must broadcast to the other's (right-aligned, each size equal or 1)",
                "a", a.shape(), "b", b.shape());
    }

    // ---- shape ----------------------------------------------------------------------------------------

    /** A view with a new shape of equal size; one entry may be -1 (inferred). */
    public static Tensor reshape(Tensor x, int... shape) {
        required("reshape", "x", x, "shape", shape);
        int[] dims = shape.clone();
        int infer = -1;
        long known = 1;
        for (int i = 0; i < dims.length; i++) {
            if (dims[i] == -1 && infer < 0) {
                infer = i;
            } else if (dims[i] < 0) {
                throw ShapeException.of("reshape", "sizes must be >= 0, with at most one -1", "shape", Arrays.toString(shape));
            } else {
                known *= dims[i];
            }
        }
        if (infer >= 0) {
            if (known == 0 || x.numel() % known != 0) {
                throw ShapeException.of("reshape", "cannot infer the -1 size", "input", x.shape(), "shape", Arrays.toString(shape));
            }
            dims[infer] = (int) (x.numel() / known);
        }
        Shape to = Shape.of(dims);
        if (to.numel() != x.numel()) {
            throw ShapeException.of("reshape", "the new shape must have as many elements as the old one",
                    "input", x.shape(), "shape", to);
        }
        return Tensor.apply(new ReshapeFunction(to), x);
    }

    /** Flattens dimensions {@code startDim..end} into one, as {@code torch.flatten(x, startDim)}. */
    public static Tensor flatten(Tensor x, int startDim) {
        required("flatten", "x", x);
        int r = x.shape().rank();
        int s = startDim < 0 ? r + startDim : startDim;
        if (s < 0 || s >= Math.max(r, 1)) {
            throw ShapeException.of("flatten", "startDim must be a dimension of the input", "input", x.shape(), "startDim", startDim);
        }
        int[] dims = new int[s + 1];
        int tail = 1;
        for (int i = 0; i < r; i++) {
            if (i < s) {
                dims[i] = x.dim(i);
            } else {
                tail *= x.dim(i);
            }
        }
        dims[s] = tail;
        return reshape(x, dims);
    }

    // ---- reductions ---------------------------------------------------------------------------------

    /** Sum of all elements, a scalar. */
    public static Tensor sum(Tensor x) {
        required("sum", "x", x);
        floating("sum", x);
        return Tensor.apply(new SumToFunction(Shape.scalar()), x);
    }

    /** Sums over the dimensions in which {@code target} (which must broadcast to x) is 1 or absent. */
    public static Tensor sumTo(Tensor x, int... target) {
        required("sumTo", "x", x, "target", target);
        floating("sumTo", x);
        Shape t = Shape.of(target);
        if (!broadcastsTo(t, x.shape())) {
            throw ShapeException.of("sumTo", "the target shape must broadcast to the input's shape", "input", x.shape(), "target", t);
        }
        return Tensor.apply(new SumToFunction(t), x);
    }

    /** Mean of all elements, a scalar. */
    public static Tensor mean(Tensor x) {
        required("mean", "x", x);
        if (x.numel() == 0) {
            throw ShapeException.of("mean", "needs at least one element", "input", x.shape());
        }
        return scale(sum(x), 1.0 / x.numel());
    }

    // ---- linear algebra -----------------------------------------------------------------------------

    /** {@code op(a) @ op(b)} for 2-D tensors. */
    public static Tensor matmul(Tensor a, Tensor b, boolean transA, boolean transB) {
        required("matmul", "a", a, "b", b);
        sameDeviceAndType("matmul", a, b);
        if (a.shape().rank() != 2 || b.shape().rank() != 2) {
            throw ShapeException.of("matmul", "both operands must be 2-D", "a", a.shape(), "b", b.shape());
        }
        int inner = transA ? a.dim(0) : a.dim(1);
        int innerB = transB ? b.dim(1) : b.dim(0);
        if (inner != innerB) {
            throw ShapeException.of("matmul", "the inner dimensions must agree" + (transA || transB ? " after transposes" : ""),
                    "a" + (transA ? "^T" : ""), a.shape(), "b" + (transB ? "^T" : ""), b.shape());
        }
        return Tensor.apply(new MatMulFunction(transA, transB), a, b);
    }

    /** {@code x @ w^T + b}, as {@code torch.nn.functional.linear}: x [N,in], w [out,in], b [out] or null. */
    public static Tensor linear(Tensor x, Tensor w, Tensor b) {
        required("linear", "x", x, "w", w);
        if (x.shape().rank() > 2) {
            return linearNd(x, w, b); // tokens [N, T, C] and other leading dimensions (issue 11)
        }
        if (x.shape().rank() != 2 || w.shape().rank() != 2 || x.dim(1) != w.dim(1)) {
            throw ShapeException.of("linear", "expected input [N, in] and weight [out, in]", "input", x.shape(), "weight", w.shape());
        }
        Tensor y = matmul(x, w, false, true);
        if (b == null) {
            return y;
        }
        if (!b.shape().equals(Shape.of(w.dim(0)))) {
            throw ShapeException.of("linear", "bias must be [out]", "weight", w.shape(), "bias", b.shape());
        }
        return add(y, b);
    }

    // ---- convolution and pooling --------------------------------------------------------------------

    /** 2-D convolution: x [N,C,H,W], w [K,C/groups,R,S], bias [K] or null. */
    public static Tensor conv2d(Tensor x, Tensor w, Tensor bias, Conv2dSpec spec) {
        required("conv2d", "x", x, "w", w, "spec", spec);
        String op = "conv2d";
        sameDeviceAndType(op, x, w);
        if (x.shape().rank() != 4 || w.shape().rank() != 4) {
            throw ShapeException.of(op, "input must be 4-D [N,C,H,W] and weight 4-D [K,C/groups,R,S]", "input", x.shape(), "weight", w.shape());
        }
        if (spec.strideH() < 1 || spec.strideW() < 1 || spec.dilationH() < 1 || spec.dilationW() < 1
                || spec.padH() < 0 || spec.padW() < 0 || spec.groups() < 1) {
            throw ShapeException.of(op, "stride, dilation and groups must be >= 1 and padding >= 0", "spec", spec);
        }
        if (x.numel() == 0 || w.numel() == 0) {
            // As PyTorch for H, W, K and the kernel; PyTorch returns an empty batch for N = 0, we refuse it too.
            throw ShapeException.of(op, "input and weight must have no zero-size dimension", "input", x.shape(), "weight", w.shape());
        }
        int c = x.dim(1);
        int k = w.dim(0);
        int g = spec.groups();
        if (c % g != 0 || k % g != 0) {
            throw ShapeException.of(op, "input channels and output channels must both be divisible by groups",
                    "input", x.shape(), "weight", w.shape(), "groups", g);
        }
        if (w.dim(1) != c / g) {
            throw ShapeException.of(op, "weight dim 1 must equal input channels / groups = " + (c / g),
                    "input", x.shape(), "weight", w.shape(), "groups", g);
        }
        int ho = Conv2dSpec.outputSize(x.dim(2), w.dim(2), spec.strideH(), spec.padH(), spec.dilationH());
        int wo = Conv2dSpec.outputSize(x.dim(3), w.dim(3), spec.strideW(), spec.padW(), spec.dilationW());
        if (ho < 1 || wo < 1) {
            throw ShapeException.of(op, "the (dilated) kernel must fit in the padded input",
                    "input", x.shape(), "weight", w.shape(), "spec", spec);
        }
        checkOutputSize(op, (double) x.dim(0) * k * ho * wo, x, spec);
        if (bias != null) {
            sameDeviceAndType(op, x, bias);
            if (!bias.shape().equals(Shape.of(k))) {
                throw ShapeException.of(op, "bias must be [K] where K = weight dim 0", "weight", w.shape(), "bias", bias.shape());
            }
        }
        return Tensor.apply(new Conv2dFunction(spec), x, w, bias);
    }

    /** Max pooling with PyTorch's rules: padding at most half the kernel, ceil_mode off. */
    public static Tensor maxPool2d(Tensor x, Pool2dSpec spec) {
        required("max_pool2d", "x", x, "spec", spec);
        String op = "max_pool2d";
        floating(op, x);
        if (x.shape().rank() != 4) {
            throw ShapeException.of(op, "input must be 4-D [N,C,H,W]", "input", x.shape());
        }
        if (spec.kernelH() < 1 || spec.kernelW() < 1 || spec.strideH() < 1 || spec.strideW() < 1
                || spec.padH() < 0 || spec.padW() < 0) {
            throw ShapeException.of(op, "kernel and stride must be >= 1 and padding >= 0", "spec", spec);
        }
        if (spec.padH() > spec.kernelH() / 2 || spec.padW() > spec.kernelW() / 2) { // 2 * pad would overflow
            throw ShapeException.of(op, "padding must be at most half the kernel size", "spec", spec);
        }
        int ho = Conv2dSpec.outputSize(x.dim(2), spec.kernelH(), spec.strideH(), spec.padH(), 1);
        int wo = Conv2dSpec.outputSize(x.dim(3), spec.kernelW(), spec.strideW(), spec.padW(), 1);
        if (ho < 1 || wo < 1 || x.numel() == 0) {
            throw ShapeException.of(op, "the kernel must fit in the padded input", "input", x.shape(), "spec", spec);
        }
        checkOutputSize(op, (double) x.dim(0) * x.dim(1) * ho * wo, x, spec);
        return Tensor.apply(new MaxPool2dFunction(spec), x);
    }

    /**
     * {@code F.avg_pool2d(x, kernel, stride, padding, ceil_mode=False, count_include_pad)} with PyTorch's rules:
     * padding at most half the kernel, the divisor as {@link AvgPool2dSpec} says.
     */
    public static Tensor avgPool2d(Tensor x, AvgPool2dSpec spec) {
        required("avg_pool2d", "x", x, "spec", spec);
        String op = "avg_pool2d";
        floating(op, x);
        if (x.shape().rank() != 4) {
            throw ShapeException.of(op, "input must be 4-D [N,C,H,W]", "input", x.shape());
        }
        if (spec.kernelH() < 1 || spec.kernelW() < 1 || spec.strideH() < 1 || spec.strideW() < 1
                || spec.padH() < 0 || spec.padW() < 0) {
            throw ShapeException.of(op, "kernel and stride must be >= 1 and padding >= 0", "spec", spec);
        }
        if (spec.padH() > spec.kernelH() / 2 || spec.padW() > spec.kernelW() / 2) {
            throw ShapeException.of(op, "padding must be at most half the kernel size", "spec", spec);
        }
        int ho = Conv2dSpec.outputSize(x.dim(2), spec.kernelH(), spec.strideH(), spec.padH(), 1);
        int wo = Conv2dSpec.outputSize(x.dim(3), spec.kernelW(), spec.strideW(), spec.padW(), 1);
        if (ho < 1 || wo < 1 || x.numel() == 0) {
            throw ShapeException.of(op, "the kernel must fit in the padded input", "input", x.shape(), "spec", spec);
        }
        checkOutputSize(op, (double) x.dim(0) * x.dim(1) * ho * wo, x, spec);
        return Tensor.apply(new AvgPool2dFunction(spec), x);
    }

    /**
     * {@code torch.cat(xs, dim=1)} of 4-D [N,C_i,H,W] tensors with equal N, H and W, on one device and dtype:
     * [N,sum C_i,H,W]. The gradient is cut back into each input's channels.
     */
    public static Tensor concatChannels(Tensor... xs) {
        String op = "cat(dim=1)";
        if (xs == null || xs.length == 0) {
            throw new GraftException(op + ": needs at least one tensor");
        }
        double channels = 0;
        for (int i = 0; i < xs.length; i++) {
            if (xs[i] == null) {
                throw new GraftException(op + ": tensor " + i + " is null; every input is required");
            }
            sameDeviceAndType(op, xs[0], xs[i]);
            Shape s = xs[i].shape();
            Shape s0 = xs[0].shape();
            if (s.rank() != 4 || s.numel() == 0) {
                throw ShapeException.of(op, "every input must be 4-D [N,C,H,W] with no zero-size dimension", "input " + i, s);
            }
            if (s.dim(0) != s0.dim(0) || s.dim(2) != s0.dim(2) || s.dim(3) != s0.dim(3)) {
                throw ShapeException.of(op, "inputs must agree in N, H and W (all but dim 1)", "input 0", s0, "input " + i, s);
            }
            channels += s.dim(1);
        }
        checkOutputSize(op, channels * xs[0].dim(0) * xs[0].dim(2) * xs[0].dim(3), xs[0], "dim=1");
        return Tensor.apply(new ConcatChannelsFunction(), xs);
    }

    /**
     * {@code F.dropout(x, p, training)}: in training each element is zeroed with probability {@code p} and the
     * rest scaled by {@code 1 / (1 - p)}; otherwise (or with p = 0) x itself. The mask is drawn from {@code rng}
     * on the host (so a seeded generator repeats it on every device) and is kept by the product for backward:
     * this is {@code x * mask}, a composite of {@link #mul}.
     */
    public static Tensor dropout(Tensor x, double p, boolean training, RandomGenerator rng) {
        required("dropout", "x", x);
        floating("dropout", x);
        if (!(p >= 0 && p <= 1)) {
            throw new GraftException("dropout: p must be in [0, 1], got " + p);
        }
        if (!training || p == 0) {
            return x;
        }
        required("dropout", "rng", rng);
        double[] mask = new double[x.numel()];
        double keep = 1 / (1 - p); // p = 1: every element is dropped, so the infinite scale is never used
        for (int i = 0; i < mask.length; i++) {
            mask[i] = rng.nextDouble() < p ? 0 : keep;
        }
        return mul(x, Tensor.fromArray(x.device(), x.dtype(), mask, x.shape().dims()));
    }

    // ---- transformer ops, part 1 (issue 11): layer norm, GELU, drop path, roll, zero padding --------------

    /**
     * {@code F.layer_norm(x, [C], weight, bias, eps)}: every row of the last axis of x [..., C] normalised by its
     * mean and biased variance (divided by C), then scaled by weight [C] and shifted by bias [C]. Gradients flow to
     * x, weight and bias.
     */
    public static Tensor layerNorm(Tensor x, Tensor weight, Tensor bias, double eps) {
        String op = "layer_norm";
        required(op, "x", x, "weight", weight, "bias", bias);
        floating(op, x);
        sameDeviceAndType(op, x, weight);
        sameDeviceAndType(op, x, bias);
        if (x.shape().rank() < 1 || x.numel() == 0) {
            throw ShapeException.of(op, "input must have at least one axis and no zero-size dimension", "input", x.shape());
        }
        int c = x.dim(x.shape().rank() - 1);
        if (weight.shape().rank() != 1 || weight.dim(0) != c || bias.shape().rank() != 1 || bias.dim(0) != c) {
            throw ShapeException.of(op, "weight and bias must be [C], C being the input's last axis", "input", x.shape(),
                    "weight", weight.shape(), "bias", bias.shape());
        }
        if (!(eps > 0) || Double.isInfinite(eps)) {
            throw new GraftException(op + ": eps must be positive and finite, got " + eps);
        }
        return Tensor.apply(new LayerNormFunction(eps), x, weight, bias);
    }

    /** {@code F.gelu(x)}: the exact GELU {@code x/2 (1 + erf(x / sqrt 2))}. */
    public static Tensor gelu(Tensor x) {
        return gelu(x, "none");
    }

    /**
     * {@code F.gelu(x, approximate)}: {@code "none"} is the exact (erf) form, {@code "tanh"} torch's approximation
     * {@code x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))}.
     */
    public static Tensor gelu(Tensor x, String approximate) {
        required("gelu", "x", x, "approximate", approximate);
        floating("gelu", x);
        if (!approximate.equals("none") && !approximate.equals("tanh")) {
            throw new GraftException("gelu: approximate must be \"none\" or \"tanh\", got \"" + approximate + "\"");
        }
        return Tensor.apply(new GeluFunction(approximate.equals("tanh")), x);
    }

    /**
     * Stochastic depth as timm's {@code drop_path(x, p, training)}: in training each sample (index along axis 0)
     * keeps its whole residual branch with probability 1 - p, scaled by {@code 1 / (1 - p)}, or is zeroed; in eval
     * (or with p = 0) x itself. One draw per sample from {@code rng} on the host, as {@link #dropout}; this is
     * {@code x * mask} with mask [N, 1, ..., 1], a composite of {@link #mul}.
     */
    public static Tensor dropPath(Tensor x, double p, boolean training, RandomGenerator rng) {
        required("drop_path", "x", x);
        floating("drop_path", x);
        if (!(p >= 0 && p <= 1)) {
            throw new GraftException("drop_path: p must be in [0, 1], got " + p);
        }
        if (!training || p == 0) {
            return x;
        }
        required("drop_path", "rng", rng);
        if (x.shape().rank() < 1) {
            throw ShapeException.of("drop_path", "input needs a sample axis (axis 0)", "input", x.shape());
        }
        int[] dims = new int[x.shape().rank()];
        Arrays.fill(dims, 1);
        dims[0] = x.dim(0);
        double[] mask = new double[dims[0]];
        double keep = p == 1 ? 0 : 1 / (1 - p); // p = 1: every sample dropped (timm does not scale then)
        for (int i = 0; i < mask.length; i++) {
            mask[i] = rng.nextDouble() < p ? 0 : keep;
        }
        return mul(x, Tensor.fromArray(x.device(), x.dtype(), mask, dims));
    }

    /**
     * {@code torch.roll(x, shifts, dims)}: along dims[i] the element at index j moves to (j + shifts[i]) mod size;
     * shifts may be negative or larger than the axis, dims negative (counted from the end) but distinct. The gradient
     * is rolled back by the opposite shifts. (Swin's cyclic shift: {@code roll(x, {-3, -3}, {1, 2})} on [N,H,W,C].)
     */
    public static Tensor roll(Tensor x, int[] shifts, int[] dims) {
        String op = "roll";
        required(op, "x", x, "shifts", shifts, "dims", dims);
        floating(op, x);
        if (shifts.length != dims.length || dims.length == 0) {
            throw new GraftException(op + ": shifts and dims must have the same non-zero length, got "
                    + Arrays.toString(shifts) + " and " + Arrays.toString(dims));
        }
        int rank = x.shape().rank();
        int[] axes = new int[dims.length];
        int[] normalized = new int[dims.length];
        boolean[] seen = new boolean[Math.max(rank, 1)];
        for (int i = 0; i < dims.length; i++) {
            int a = dims[i] < 0 ? dims[i] + rank : dims[i];
            if (a < 0 || a >= rank) {
                throw ShapeException.of(op, "dim " + dims[i] + " is out of range for a " + rank + "-D input", "input", x.shape());
            }
            if (seen[a]) {
                throw ShapeException.of(op, "dims must be distinct, got " + Arrays.toString(dims), "input", x.shape());
            }
            seen[a] = true;
            axes[i] = a;
            int n = x.dim(a);
            normalized[i] = n == 0 ? 0 : Math.floorMod(shifts[i], n);
        }
        if (x.numel() == 0) {
            return x;
        }
        return Tensor.apply(new RollFunction(normalized, axes), x);
    }

    /**
     * {@code F.pad(x, pads)} with zeros and non-negative pads: pads come in (before, after) pairs from the last axis
     * backwards, as torch lists them, e.g. {@code (left, right, top, bottom)} pads W and H of an NCHW tensor and
     * {@code (0, 0, left, right, top, bottom)} W and H of an [N,H,W,C] one. The gradient is the interior (a slice).
     */
    public static Tensor pad(Tensor x, int... pads) {
        String op = "pad";
        required(op, "x", x, "pads", pads);
        floating(op, x);
        int rank = x.shape().rank();
        if (pads.length % 2 != 0 || pads.length / 2 > rank) {
            throw ShapeException.of(op, "pads must be (before, after) pairs for at most every axis, got "
                    + Arrays.toString(pads), "input", x.shape());
        }
        if (x.numel() == 0) {
            throw ShapeException.of(op, "input must have no zero-size dimension", "input", x.shape());
        }
        int[] before = new int[rank];
        int[] after = new int[rank];
        double numel = 1;
        for (int i = 0; i < pads.length / 2; i++) {
            if (pads[2 * i] < 0 || pads[2 * i + 1] < 0) {
                throw ShapeException.of(op, "pads must be non-negative (negative pads, which crop, are not supported), got "
                        + Arrays.toString(pads), "input", x.shape());
            }
            before[rank - 1 - i] = pads[2 * i];
            after[rank - 1 - i] = pads[2 * i + 1];
        }
        for (int d = 0; d < rank; d++) {
            numel *= (double) before[d] + x.dim(d) + after[d];
        }
        checkOutputSize(op, numel, x, Arrays.toString(pads));
        return Tensor.apply(new PadFunction(before, after), x);
    }

    /** {@code adaptive_avg_pool2d(x, 1)}: [N,C,H,W] -> [N,C,1,1]. */
    public static Tensor adaptiveAvgPool2d(Tensor x, int outputSize) {
        required("adaptive_avg_pool2d", "x", x);
        String op = "adaptive_avg_pool2d";
        floating(op, x);
        if (outputSize != 1) {
            throw ShapeException.of(op, "only output size 1 (global average pooling, as in ResNets) is supported", "outputSize", outputSize);
        }
        if (x.shape().rank() != 4 || x.dim(2) < 1 || x.dim(3) < 1) {
            throw ShapeException.of(op, "input must be 4-D [N,C,H,W] with H, W >= 1", "input", x.shape());
        }
        return Tensor.apply(new GlobalAvgPoolFunction(), x);
    }

    // ---- batch norm ---------------------------------------------------------------------------------

    /**
     * Batch norm over dim 1, as {@code torch.nn.functional.batch_norm}. Training: normalise with the batch's
     * statistics and, when running stats are given, update them in place (momentum, unbiased variance).
     * Otherwise normalise with the running statistics. A null weight or bias means none (PyTorch's
     * {@code weight=None}, {@code affine=False}): scale 1, shift 0.
     */
    public static Tensor batchNorm2d(Tensor x, Tensor weight, Tensor bias, Tensor runningMean, Tensor runningVar,
                                     boolean training, double momentum, double eps) {
        return batchNorm2d(x, weight, bias, runningMean, runningVar, training, momentum, eps, false);
    }

    /**
     * {@code relu(batchNorm2d(...))} as one primitive: the relu is applied in place to the batch norm's fresh output,
     * so there is no second activation-sized array; values, gradients and running statistics equal the two ops'.
     */
    public static Tensor batchNorm2dRelu(Tensor x, Tensor weight, Tensor bias, Tensor runningMean, Tensor runningVar,
                                         boolean training, double momentum, double eps) {
        return batchNorm2d(x, weight, bias, runningMean, runningVar, training, momentum, eps, true);
    }

    private static Tensor batchNorm2d(Tensor x, Tensor weight, Tensor bias, Tensor runningMean, Tensor runningVar,
                                      boolean training, double momentum, double eps, boolean relu) {
        required("batch_norm", "x", x);
        String op = "batch_norm";
        floating(op, x);
        for (Tensor t : new Tensor[] {weight, bias, runningMean, runningVar}) {
            sameDeviceAndType(op, x, t);
        }
        if (x.shape().rank() != 4) {
            throw ShapeException.of(op, "input must be 4-D [N,C,H,W]", "input", x.shape());
        }
        Shape c = Shape.of(x.dim(1));
        for (Tensor t : new Tensor[] {weight, bias, runningMean, runningVar}) {
            if (t != null && !t.shape().equals(c)) {
                throw ShapeException.of(op, "weight, bias and running statistics must be [C] with C = input dim 1",
                        "input", x.shape(), "got", t.shape());
            }
        }
        // The kernels always take gamma and beta; constants stand in for absent ones and get no gradient.
        weight = weight != null ? weight : Tensor.full(x.device(), x.dtype(), 1, x.dim(1));
        bias = bias != null ? bias : Tensor.zeros(x.device(), x.dtype(), x.dim(1));
        if (training) {
            long perChannel = (long) x.dim(0) * x.dim(2) * x.dim(3);
            if (perChannel <= 1) {
                throw ShapeException.of(op, "training needs more than 1 value per channel (N*H*W > 1)", "input", x.shape());
            }
            BatchNormTrainingFunction fn = new BatchNormTrainingFunction(eps, relu);
            Tensor y = Tensor.apply(fn, x, weight, bias);
            if (runningMean != null && runningVar != null) {
                Backend be = x.data().backend();
                double unbias = perChannel / (double) (perChannel - 1);
                be.scaleInPlace(runningMean.data(), 1 - momentum);
                be.axpyInPlace(runningMean.data(), momentum, fn.batchMean());
                be.scaleInPlace(runningVar.data(), 1 - momentum);
                be.axpyInPlace(runningVar.data(), momentum * unbias, fn.batchVariance());
                runningMean.data().buffer().bumpVersion();
                runningVar.data().buffer().bumpVersion();
            }
            return y;
        }
        if (runningMean == null || runningVar == null) {
            throw new ShapeException(op + ": eval mode needs running mean and variance");
        }
        return Tensor.apply(new BatchNormInferenceFunction(runningMean.data(), runningVar.data(), eps, relu), x, weight, bias);
    }

    // ---- classification loss --------------------------------------------------------------------------

    public static Tensor logSoftmax(Tensor x) {
        required("log_softmax", "x", x);
        floating("log_softmax", x);
        if (x.shape().rank() != 2 || x.dim(1) < 1) {
            throw ShapeException.of("log_softmax", "input must be [N, C] with C >= 1 (softmax over dim 1)", "input", x.shape());
        }
        return Tensor.apply(new LogSoftmaxFunction(), x);
    }

    /** Mean negative log-likelihood of log-probabilities [N,C]; see {@link #crossEntropy}. */
    public static Tensor nllLoss(Tensor logProbs, int[] labels, float[] classWeights, double labelSmoothing) {
        required("nll_loss", "logProbs", logProbs, "labels", labels);
        String op = "nll_loss";
        floating(op, logProbs);
        if (logProbs.shape().rank() != 2) {
            throw ShapeException.of(op, "input must be [N, C]", "input", logProbs.shape());
        }
        int n = logProbs.dim(0);
        int c = logProbs.dim(1);
        if (labels.length != n || n == 0) {
            throw ShapeException.of(op, "one label per row of a non-empty batch", "input", logProbs.shape(), "labels", labels.length);
        }
        for (int i = 0; i < n; i++) {
            if (labels[i] < 0 || labels[i] >= c) {
                throw ShapeException.of(op, "labels must be class indices in [0, " + c + ")", "label " + i, labels[i]);
            }
        }
        if (classWeights != null && classWeights.length != c) {
            throw ShapeException.of(op, "one class weight per class", "classes", c, "weights", classWeights.length);
        }
        if (!(labelSmoothing >= 0 && labelSmoothing <= 1)) {
            throw ShapeException.of(op, "label smoothing must be in [0, 1]", "labelSmoothing", labelSmoothing);
        }
        if (classWeights != null) {
            double total = 0;
            for (int y : labels) {
                total += classWeights[y];
            }
            if (!(total > 0)) {
                throw ShapeException.of(op, "the class weights of the batch's labels must have a positive sum", "sum", total);
            }
        }
        return Tensor.apply(new NllLossFunction(labels.clone(), classWeights == null ? null : classWeights.clone(), labelSmoothing),
                logProbs);
    }

    /**
     * {@code torch.nn.CrossEntropyLoss(weight, label_smoothing)} with mean reduction: logits [N,C], class-index
     * labels, optional per-class weights (the mean divides by the sum of the labels' weights).
     */
    public static Tensor crossEntropy(Tensor logits, int[] labels, float[] classWeights, double labelSmoothing) {
        return nllLoss(logSoftmax(logits), labels, classWeights, labelSmoothing);
    }

    public static Tensor crossEntropy(Tensor logits, int[] labels) {
        return crossEntropy(logits, labels, null, 0);
    }

    /**
     * Multi-label loss: {@code torch.nn.BCEWithLogitsLoss(pos_weight)} on [N,L] logits, one sigmoid per element,
     * against row-major [N,L] targets in [0, 1] where NaN marks an unknown target, left out of the loss. The mean is
     * over the known targets (sum of their losses / their count; torch's mean reduction divides by N*L, equal when
     * none is NaN); a batch with none known has loss 0. {@code posWeight}: one weight >= 0 per label, or null.
     */
    public static Tensor bceWithLogits(Tensor logits, float[] targets, float[] posWeight) {
        String op = "binary_cross_entropy_with_logits";
        required(op, "logits", logits, "targets", targets);
        floating(op, logits);
        if (logits.shape().rank() != 2 || logits.dim(0) == 0) {
            throw ShapeException.of(op, "input must be [N, L] with N >= 1", "input", logits.shape());
        }
        int labels = logits.dim(1);
        if (targets.length != logits.dim(0) * labels) {
            throw ShapeException.of(op, "one target per logit (row-major [N, L])", "input", logits.shape(),
                    "targets", targets.length);
        }
        for (int i = 0; i < targets.length; i++) {
            if (!Float.isNaN(targets[i]) && !(targets[i] >= 0 && targets[i] <= 1)) {
                throw ShapeException.of(op, "targets must be in [0, 1] or NaN (unknown)", "target " + i, targets[i]);
            }
        }
        if (posWeight != null) {
            if (posWeight.length != labels) {
                throw ShapeException.of(op, "one positive weight per label", "labels", labels, "weights", posWeight.length);
            }
            for (float w : posWeight) {
                if (!(w >= 0) || Float.isInfinite(w)) {
                    throw ShapeException.of(op, "positive weights must be finite and >= 0", "weight", w);
                }
            }
        }
        return Tensor.apply(new BceWithLogitsFunction(targets.clone(), posWeight == null ? null : posWeight.clone()), logits);
    }

    // ---- checks -----------------------------------------------------------------------------------------

    /** Right-aligned broadcasting: every dimension of {@code from} equals the target's or is 1. */
    static boolean broadcastsTo(Shape from, Shape to) {
        if (from.rank() > to.rank()) {
            return false;
        }
        int off = to.rank() - from.rank();
        for (int i = 0; i < from.rank(); i++) {
            int f = from.dim(i);
            if (f != 1 && f != to.dim(i + off)) {
                return false;
            }
        }
        return true;
    }

    /** Huge padding or stride can ask for an output no tensor can hold; say so here, not inside a kernel. */
    private static void checkOutputSize(String op, double numel, Tensor x, Object spec) {
        if (numel > Integer.MAX_VALUE - 8) {
            throw ShapeException.of(op, "the output would have " + (long) numel + " elements, more than the 2^31 - 9 a tensor can hold",
                    "input", x.shape(), "spec", spec);
        }
    }

    /** Pairs of name and value: a null required operand is reported like any other bad input. */
    private static void required(String op, Object... namesAndValues) {
        for (int i = 0; i < namesAndValues.length; i += 2) {
            if (namesAndValues[i + 1] == null) {
                throw new GraftException(op + ": " + namesAndValues[i] + " is null; it is required");
            }
        }
    }

    private static void floating(String op, Tensor t) {
        if (!t.dtype().isFloating()) {
            throw new DeviceException(op + ": needs a floating-point tensor, got " + t.dtype() + " " + t.shape());
        }
    }

    private static void sameDeviceAndType(String op, Tensor a, Tensor b) {
        if (b == null) {
            return;
        }
        if (!a.device().equals(b.device())) {
            throw new DeviceException(op + ": operands are on different devices (" + a.device() + " and " + b.device()
                    + "); move one with tensor.to(device)");
        }
        if (a.dtype() != b.dtype()) {
            throw new DeviceException(op + ": operands have different dtypes (" + a.dtype() + " and " + b.dtype() + ")");
        }
        floating(op, a);
    }

    // ---- transformer ops: matrix products, layout, attention (issue 11, item 1; tops2) ------------------------
    // docs/transformer-ops-attention.md. Each op checks its operands here and hands row-major arrays to the kernels.

    /**
     * {@code torch.matmul(op(a), op(b))} for operands of equal rank >= 3 with equal leading (batch) dimensions:
     * a [B..., M, K] ([B..., K, M] with transA), b [B..., K, N] ([B..., N, K] with transB) -> [B..., M, N].
     * No broadcasting of the batch dimensions; rank 2 is {@link #matmul}.
     */
    public static Tensor bmm(Tensor a, Tensor b, boolean transA, boolean transB) {
        String op = "bmm";
        required(op, "a", a, "b", b);
        sameDeviceAndType(op, a, b);
        int r = a.shape().rank();
        if (r < 3 || b.shape().rank() != r) {
            throw ShapeException.of(op, "both operands must have the same rank, at least 3 ([batch..., rows, cols])",
                    "a", a.shape(), "b", b.shape());
        }
        for (int i = 0; i < r - 2; i++) {
            if (a.dim(i) != b.dim(i)) {
                throw ShapeException.of(op, "the batch dimensions (all but the last two) must be equal; no broadcasting",
                        "a", a.shape(), "b", b.shape());
            }
        }
        int m = transA ? a.dim(r - 1) : a.dim(r - 2);
        int k = transA ? a.dim(r - 2) : a.dim(r - 1);
        int kb = transB ? b.dim(r - 1) : b.dim(r - 2);
        int n = transB ? b.dim(r - 2) : b.dim(r - 1);
        if (k != kb) {
            throw ShapeException.of(op, "the inner dimensions must agree" + (transA || transB ? " after transposes" : ""),
                    "a" + (transA ? "^T" : ""), a.shape(), "b" + (transB ? "^T" : ""), b.shape());
        }
        int batch = 1;
        int[] outDims = new int[r];
        for (int i = 0; i < r - 2; i++) {
            batch *= a.dim(i);
            outDims[i] = a.dim(i);
        }
        outDims[r - 2] = m;
        outDims[r - 1] = n;
        Tensor a3 = reshape(a, batch, a.dim(r - 2), a.dim(r - 1));
        Tensor b3 = reshape(b, batch, b.dim(r - 2), b.dim(r - 1));
        return reshape(Tensor.apply(new BatchedMatMulFunction(transA, transB), a3, b3), outDims);
    }

    /**
     * {@code torch.nn.functional.linear} on [..., in] (tokens [N, T, C]): the leading dimensions are flattened into
     * one (a free view), the 2-D {@link #linear} runs (one GEMM), and the result is viewed back as [..., out].
     */
    public static Tensor linearNd(Tensor x, Tensor w, Tensor b) {
        required("linear", "x", x, "w", w);
        int r = x.shape().rank();
        if (r < 1 || w.shape().rank() != 2 || x.dim(r - 1) != w.dim(1)) {
            throw ShapeException.of("linear", "expected input [..., in] and weight [out, in]", "input", x.shape(), "weight", w.shape());
        }
        if (r == 2) {
            return linear(x, w, b);
        }
        int[] outDims = new int[r];
        for (int i = 0; i < r - 1; i++) {
            outDims[i] = x.dim(i);
        }
        outDims[r - 1] = w.dim(0);
        Tensor x2 = reshape(x, -1, x.dim(r - 1));
        if (b == null) {
            return reshape(linear(x2, w, null), outDims);
        }
        sameDeviceAndType("linear", x, w);
        sameDeviceAndType("linear", x, b);
        if (!b.shape().equals(Shape.of(w.dim(0)))) {
            throw ShapeException.of("linear", "bias must be [out]", "weight", w.shape(), "bias", b.shape());
        }
        // one kernel with the bias (Backend.linear), as tokens go through every transformer block's linears
        return reshape(Tensor.apply(new LinearFunction(), x2, w, b), outDims);
    }

    /**
     * {@code gelu(linear(x, w, b))} with the exact GELU, on [..., in] as {@link #linear}. Where no gradient will be
     * recorded (grad mode off, or no input requires one) and x has a token dimension, one fused kernel runs
     * ({@link dev.graft.engine.backend.Backend#linearGelu}: a transformer MLP's first layer at inference); otherwise
     * it is {@link #gelu(Tensor)} of {@link #linear}, with its gradient.
     */
    public static Tensor linearGelu(Tensor x, Tensor w, Tensor b) {
        required("linearGelu", "x", x, "w", w);
        boolean recorded = Grad.enabled() && (x.requiresGrad() || w.requiresGrad() || (b != null && b.requiresGrad()));
        int r = x.shape().rank();
        if (recorded || b == null || r < 3 || w.shape().rank() != 2 || x.dim(r - 1) != w.dim(1)) {
            return gelu(linear(x, w, b)); // linear reports any shape error
        }
        sameDeviceAndType("linearGelu", x, w);
        sameDeviceAndType("linearGelu", x, b);
        if (!b.shape().equals(Shape.of(w.dim(0)))) {
            throw ShapeException.of("linearGelu", "bias must be [out]", "weight", w.shape(), "bias", b.shape());
        }
        int[] outDims = new int[r];
        for (int i = 0; i < r - 1; i++) {
            outDims[i] = x.dim(i);
        }
        outDims[r - 1] = w.dim(0);
        return reshape(Tensor.apply(new LinearGeluFunction(), reshape(x, -1, x.dim(r - 1)), w, b), outDims);
    }

    /**
     * {@code add(residual, linear(x, w, b))} on [..., in] as {@link #linear}, residual of the output's shape [..., out]
     * (a skip connection around an output projection). Where no gradient will be recorded and x has a token
     * dimension, one fused kernel runs ({@link dev.graft.engine.backend.Backend#linearAdd}); otherwise it is
     * {@link #add} of {@link #linear}, with its gradient.
     */
    public static Tensor linearAdd(Tensor x, Tensor w, Tensor b, Tensor residual) {
        required("linearAdd", "x", x, "w", w, "residual", residual);
        boolean recorded = Grad.enabled() && (x.requiresGrad() || w.requiresGrad() || residual.requiresGrad()
                || (b != null && b.requiresGrad()));
        int r = x.shape().rank();
        if (recorded || b == null || r < 3 || w.shape().rank() != 2 || x.dim(r - 1) != w.dim(1)
                || !b.shape().equals(Shape.of(w.dim(0))) || residual.shape().rank() != r) {
            return add(residual, linear(x, w, b)); // linear and add report any shape error
        }
        int[] outDims = new int[r];
        for (int i = 0; i < r - 1; i++) {
            outDims[i] = x.dim(i);
        }
        outDims[r - 1] = w.dim(0);
        if (!residual.shape().equals(Shape.of(outDims))) {
            return add(residual, linear(x, w, b)); // a broadcast residual: add reports or broadcasts it
        }
        sameDeviceAndType("linearAdd", x, w);
        sameDeviceAndType("linearAdd", x, b);
        sameDeviceAndType("linearAdd", x, residual);
        int rows = Shape.of(outDims).numel() / w.dim(0);
        Tensor y = Tensor.apply(new LinearAddFunction(), reshape(x, -1, x.dim(r - 1)), w, b, reshape(residual, rows, w.dim(0)));
        return reshape(y, outDims);
    }

    /** {@code x.permute(perm)} (then contiguous): output dimension i is input dimension {@code perm[i]}; negative entries count from the end. */
    public static Tensor permute(Tensor x, int... perm) {
        String op = "permute";
        required(op, "x", x, "perm", perm);
        floating(op, x);
        int r = x.shape().rank();
        if (perm.length != r) {
            throw ShapeException.of(op, "perm must name every dimension once", "input", x.shape(), "perm", Arrays.toString(perm));
        }
        int[] p = new int[r];
        boolean[] seen = new boolean[r];
        boolean identity = true;
        for (int i = 0; i < r; i++) {
            int d = perm[i] < 0 ? perm[i] + r : perm[i];
            if (d < 0 || d >= r || seen[d]) {
                throw ShapeException.of(op, "perm must name every dimension once", "input", x.shape(), "perm", Arrays.toString(perm));
            }
            seen[d] = true;
            p[i] = d;
            identity &= d == i;
        }
        if (identity) {
            return x;
        }
        return Tensor.apply(new PermuteFunction(p), x);
    }

    /** {@code x.transpose(dim0, dim1)} (then contiguous). */
    public static Tensor transpose(Tensor x, int dim0, int dim1) {
        required("transpose", "x", x);
        int r = x.shape().rank();
        int a = axis("transpose", x, dim0);
        int b = axis("transpose", x, dim1);
        int[] p = new int[r];
        for (int i = 0; i < r; i++) {
            p[i] = i == a ? b : i == b ? a : i;
        }
        return permute(x, p);
    }

    /** {@code torch.cat(xs, dim)}: equal rank, equal sizes except along {@code dim} (negative counts from the end). */
    public static Tensor cat(int dim, Tensor... xs) {
        String op = "cat";
        if (xs == null || xs.length == 0) {
            throw new GraftException(op + ": needs at least one tensor");
        }
        for (int i = 0; i < xs.length; i++) {
            required(op, "xs[" + i + "]", xs[i]);
            sameDeviceAndType(op, xs[0], xs[i]);
        }
        int axis = axis(op, xs[0], dim);
        for (Tensor t : xs) {
            boolean ok = t.shape().rank() == xs[0].shape().rank();
            for (int d = 0; ok && d < t.shape().rank(); d++) {
                ok = d == axis || t.dim(d) == xs[0].dim(d);
            }
            if (!ok) {
                Object[] shapes = new Object[2 * xs.length];
                for (int i = 0; i < xs.length; i++) {
                    shapes[2 * i] = "xs[" + i + "]";
                    shapes[2 * i + 1] = xs[i].shape();
                }
                throw ShapeException.of(op, "inputs must have equal rank and equal sizes in every dimension but dim " + axis, shapes);
            }
        }
        if (xs.length == 1) {
            return xs[0];
        }
        return Tensor.apply(new ConcatFunction(axis), xs);
    }

    /** {@code x.narrow(dim, start, length)}: entries [start, start + length) along dim, as a new tensor. */
    public static Tensor narrow(Tensor x, int dim, int start, int length) {
        String op = "narrow";
        required(op, "x", x);
        floating(op, x);
        int axis = axis(op, x, dim);
        if (start < 0 || length < 0 || (long) start + length > x.dim(axis)) {
            throw ShapeException.of(op, "need 0 <= start and start + length <= size of dim " + axis,
                    "input", x.shape(), "start", start, "length", length);
        }
        if (start == 0 && length == x.dim(axis)) {
            return x;
        }
        return Tensor.apply(new NarrowFunction(axis, start, length), x);
    }

    /** {@code torch.split(x, sizes, dim)} with explicit sizes that must add up to the size of dim. */
    public static Tensor[] split(Tensor x, int dim, int... sizes) {
        String op = "split";
        required(op, "x", x, "sizes", sizes);
        int axis = axis(op, x, dim);
        long sum = 0;
        for (int s : sizes) {
            if (s < 0) {
                throw ShapeException.of(op, "sizes must be >= 0", "input", x.shape(), "sizes", Arrays.toString(sizes));
            }
            sum += s;
        }
        if (sum != x.dim(axis)) {
            throw ShapeException.of(op, "sizes must add up to the size of dim " + axis, "input", x.shape(), "sizes", Arrays.toString(sizes));
        }
        Tensor[] parts = new Tensor[sizes.length];
        int start = 0;
        for (int i = 0; i < sizes.length; i++) {
            parts[i] = narrow(x, axis, start, sizes[i]);
            start += sizes[i];
        }
        return parts;
    }

    /** {@code torch.softmax(x, dim=-1)}: softmax over the last dimension. */
    public static Tensor softmax(Tensor x) {
        String op = "softmax";
        required(op, "x", x);
        floating(op, x);
        if (x.shape().rank() < 1) {
            throw ShapeException.of(op, "needs at least one dimension (softmax runs over the last)", "input", x.shape());
        }
        return Tensor.apply(new SoftmaxFunction(), x);
    }

    /** {@code torch.index_select(x, dim, index)}; every index in [0, size of dim). The gradient scatter-adds. */
    public static Tensor indexSelect(Tensor x, int dim, int[] index) {
        String op = "index_select";
        required(op, "x", x, "index", index);
        floating(op, x);
        int axis = axis(op, x, dim);
        for (int i : index) {
            if (i < 0 || i >= x.dim(axis)) {
                throw ShapeException.of(op, "index " + i + " is outside [0, " + x.dim(axis) + ") of dim " + axis,
                        "input", x.shape(), "index length", index.length);
            }
        }
        return Tensor.apply(new IndexSelectFunction(axis, index), x);
    }

    /** As {@link #indexSelect(Tensor, int, int[])} with an I64 index tensor of any shape (read flat, as torch's 1-D index). */
    public static Tensor indexSelect(Tensor x, int dim, Tensor index) {
        required("index_select", "x", x, "index", index);
        if (index.dtype() != DType.I64) {
            throw new DeviceException("index_select: the index must be an I64 tensor, got " + index.dtype() + " " + index.shape());
        }
        long[] l = index.toLongArray();
        int[] idx = new int[l.length];
        for (int i = 0; i < l.length; i++) {
            if (l[i] < 0 || l[i] > Integer.MAX_VALUE) {
                throw ShapeException.of("index_select", "index " + l[i] + " is outside [0, size of dim)", "input", x.shape(), "index", index.shape());
            }
            idx[i] = (int) l[i];
        }
        return indexSelect(x, dim, idx);
    }

    /**
     * {@code softmax(q @ k^T * scale + bias) @ v}, torch 2's {@code scaled_dot_product_attention} without dropout:
     * q [B..., Tq, d], k [B..., Tk, d], v [B..., Tk, dv] (e.g. [N, heads, T, d]); {@code bias} null or an additive
     * mask / relative-position bias that broadcasts (right-aligned) to the scores [B..., Tq, Tk]; {@code scale} 1/sqrt(d)
     * when NaN. Composed of {@link #bmm}, {@link #scale}, {@link #add} and {@link #softmax}; no fused kernel.
     */
    public static Tensor scaledDotProductAttention(Tensor q, Tensor k, Tensor v, Tensor bias, double scale) {
        String op = "scaled_dot_product_attention";
        required(op, "q", q, "k", k, "v", v);
        sameDeviceAndType(op, q, k);
        sameDeviceAndType(op, q, v);
        int r = q.shape().rank();
        boolean ok = r >= 3 && k.shape().rank() == r && v.shape().rank() == r
                && k.dim(r - 1) == q.dim(r - 1) && v.dim(r - 2) == k.dim(r - 2);
        for (int i = 0; ok && i < r - 2; i++) {
            ok = k.dim(i) == q.dim(i) && v.dim(i) == q.dim(i);
        }
        if (!ok) {
            throw ShapeException.of(op, "expected q [B..., Tq, d], k [B..., Tk, d], v [B..., Tk, dv] with equal batch dimensions",
                    "q", q.shape(), "k", k.shape(), "v", v.shape());
        }
        if (bias != null) {
            sameDeviceAndType(op, q, bias);
            int[] sd = new int[r];
            for (int i = 0; i < r - 1; i++) {
                sd[i] = q.dim(i);
            }
            sd[r - 1] = k.dim(r - 2);
            if (!broadcastsTo(bias.shape(), Shape.of(sd))) {
                throw ShapeException.of(op, "bias must broadcast (right-aligned) to the scores [B..., Tq, Tk]",
                        "scores", Shape.of(sd), "bias", bias.shape());
            }
        }
        Tensor scores = bmm(q, k, false, true);
        double s = Double.isNaN(scale) ? 1.0 / Math.sqrt(q.dim(r - 1)) : scale;
        Tensor z = scale(scores, s);
        if (bias != null) {
            z = add(z, bias);
        }
        return bmm(softmax(z), v, false, false);
    }

    /**
     * Multi-head self-attention on a packed q/k/v projection: qkv [N, T, 3C] read as [N, T, 3, heads, C/heads] (q,
     * then k, then v; heads in order within each), {@code softmax(q k^T * scale) v} per head, returned as [N, T, C]
     * with the heads side by side: the same as splitting, {@link #scaledDotProductAttention} and merging the heads,
     * without copying q, k, v or the heads out on backends that read them in place. {@code scale} 1/sqrt(C/heads)
     * when NaN.
     */
    public static Tensor packedSelfAttention(Tensor qkv, int heads, double scale) {
        String op = "packed_self_attention";
        required(op, "qkv", qkv);
        floating(op, qkv);
        if (qkv.shape().rank() != 3 || heads < 1 || qkv.dim(2) % (3 * heads) != 0) {
            throw ShapeException.of(op, "expected qkv [N, T, 3C] with C a multiple of heads", "qkv", qkv.shape(), "heads", heads);
        }
        double s = Double.isNaN(scale) ? 1.0 / Math.sqrt(qkv.dim(2) / (3 * heads)) : scale;
        return Tensor.apply(new PackedAttentionFunction(heads, s), qkv);
    }

    /** {@code dim} as an index in [0, rank), negative counting from the end. */
    private static int axis(String op, Tensor x, int dim) {
        int r = x.shape().rank();
        int a = dim < 0 ? dim + r : dim;
        if (a < 0 || a >= r) {
            throw ShapeException.of(op, "dim " + dim + " is not a dimension of the input", "input", x.shape());
        }
        return a;
    }
}
