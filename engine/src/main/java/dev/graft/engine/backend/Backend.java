package dev.graft.engine.backend;

import dev.graft.engine.DType;
import dev.graft.engine.DeviceException;
import dev.graft.engine.Precision;
import dev.graft.engine.Device;
import dev.graft.engine.DeviceException;
import dev.graft.engine.Layout;
import dev.graft.engine.NDArray;
import dev.graft.engine.Precision;
import dev.graft.engine.Shape;

/**
 * The kernels one device provides: buffers and shapes in, new arrays out (allocated in the current
 * {@link dev.graft.engine.Scope}). No autograd here. Inputs were validated at the op boundary
 * ({@link dev.graft.engine.Functional}), so kernels trust shapes, devices and dtypes; every input is on
 * this backend. Outputs may be in whatever layout the backend prefers; {@link #toHostFloats} always
 * returns logical row-major order.
 *
 * <p>Conventions, as in PyTorch: activations NCHW (logical), weights OIHW, linear weights [out, in],
 * batch-norm vectors [C]. Broadcasting is right-aligned: in {@code add(a, b)} every dimension of {@code b}
 * equals {@code a}'s or is 1, and {@code b} may have lower rank.
 */
public interface Backend extends AutoCloseable {

    Device device();

    /** One line for {@code graft doctor}: library, version, ISA, threads. */
    String description();

    boolean supports(DType dtype);

    /** The layout this backend's kernels produce for 4-D activations. */
    Layout activationLayout();

    // ---- precision ----------------------------------------------------------------------------------

    /**
     * The arithmetic of this backend's training convolutions (forward, backward-data and backward-weights), {@link #gemm} and
     * {@link #batchedGemm}. {@link Precision#FP32} (the default) computes them in F32 or better;
     * {@link Precision#BF16} rounds both operands of every such product to bfloat16 (round-to-nearest-even) and
     * accumulates in F32 or better, with F32 tensors at the boundary, as PyTorch's CPU autocast does. Every other
     * kernel (batch norm, layer norm, softmax, losses, reductions, optimizer updates) computes as in FP32 whatever
     * the precision, so master weights, optimizer state and statistics stay F32. Inference kernels
     * ({@link #conv2dInference}) are not affected.
     */
    default Precision precision() {
        return Precision.FP32;
    }

    /**
     * Sets {@link #precision()} for every later call on this backend (it is one shared instance per device: use
     * {@link #usePrecision} to restore the previous one). Throws a DeviceException, changing nothing, when this
     * backend or this machine cannot compute in {@code precision}; this default runs FP32 only.
     */
    default void setPrecision(Precision precision) {
        if (precision != Precision.FP32) {
            throw new DeviceException("--precision " + precision + " is not implemented on the " + device()
                    + " backend yet; use --precision fp32" + (device().kind() == Device.Kind.CPU ? "" : " or --device cpu"));
        }
    }

    /** Sets {@code precision} until the returned scope closes, which restores the previous one. */
    default PrecisionScope usePrecision(Precision precision) {
        Precision previous = precision();
        setPrecision(precision);
        return () -> setPrecision(previous);
    }

    /** The scope of {@link #usePrecision}; closing it restores the precision that was set before. */
    interface PrecisionScope extends AutoCloseable {
        @Override
        void close();
    }

    // ---- memory ------------------------------------------------------------------------------------

    /** Uninitialised storage. */
    NDArray empty(DType dtype, Shape shape, Layout layout);

    default NDArray zeros(DType dtype, Shape shape) {
        NDArray a = empty(dtype, shape, Layout.ROW_MAJOR);
        fill(a, 0);
        return a;
    }

    /** Row-major host data to a new F32 array. */
    NDArray fromHost(float[] data, Shape shape);

    /** Row-major host data to a new array of {@code dtype} (F32 rounds). */
    NDArray fromHost(double[] data, Shape shape, DType dtype);

    /** Overwrites {@code dst} with row-major host data (loading weights in place). */
    void copyFromHost(NDArray dst, float[] data);

    float[] toHostFloats(NDArray a);

    double[] toHostDoubles(NDArray a);

    /** The same values in another physical layout (a new array, or {@code a} itself if already there). */
    NDArray toLayout(NDArray a, Layout layout);

    /** Overwrites {@code dst} with {@code src}'s values; shapes are equal, layouts may differ. */
    void copyInto(NDArray dst, NDArray src);

    default NDArray copy(NDArray a) {
        NDArray out = empty(a.dtype(), a.shape(), a.layout());
        copyInto(out, a);
        return out;
    }

    void fill(NDArray a, double value);

    /** I64 arrays live on the host whatever the device; no kernel computes on them. */
    default NDArray fromHostLongs(long[] data, Shape shape) {
        return new NDArray(this, new HostLongBuffer(data.clone()), shape, Layout.ROW_MAJOR);
    }

    default long[] toHostLongs(NDArray a) {
        a.buffer().checkOpen();
        return ((HostLongBuffer) a.buffer()).data().clone();
    }

    // ---- elementwise and reductions ------------------------------------------------------------------

    /** {@code a + b}, {@code b} broadcast to {@code a}'s shape. */
    NDArray add(NDArray a, NDArray b);

    /** {@code a * b}, {@code b} broadcast to {@code a}'s shape. */
    NDArray mul(NDArray a, NDArray b);

    /** {@code alpha * a}. */
    NDArray scale(NDArray a, double alpha);

    /** {@code a *= alpha}. */
    void scaleInPlace(NDArray a, double alpha);

    /** {@code y += alpha * x}, equal shapes. */
    void axpyInPlace(NDArray y, double alpha, NDArray x);

    NDArray relu(NDArray x);

    /**
     * {@code y <= 0 ? 0 : dy}, where {@code y} is relu's output: torch's threshold_backward, which passes dy where y is
     * NaN and gives exactly 0 (not {@code 0 * dy}) where y is 0, even for an infinite or NaN dy.
     */
    NDArray reluBackward(NDArray dy, NDArray y);

    /**
     * As {@link #reluBackward(NDArray, NDArray)}; with {@code mayOverwriteDy} the caller owns dy and will not read it
     * again, so the result may be written over it (autograd passes this for a gradient nothing else reads).
     */
    default NDArray reluBackward(NDArray dy, NDArray y, boolean mayOverwriteDy) {
        return reluBackward(dy, y);
    }

    /**
     * {@code relu(a + b)}, b broadcast to a, with exactly {@link #add} and {@link #relu}'s results (a residual
     * block's tail). Backends override it to make one pass over memory instead of two; this default is the unfused
     * pair.
     */
    default NDArray addRelu(NDArray a, NDArray b) {
        NDArray sum = add(a, b);
        NDArray out = relu(sum);
        if (out.buffer() != sum.buffer()) {
            sum.buffer().close();
        }
        return out;
    }

    /**
     * Overwrites {@code x} with {@code relu(x)}, exactly {@link #relu}'s values (for an activation nothing else
     * has seen, such as a batch norm's fresh output). This default computes out of place and copies back.
     */
    default void reluInPlace(NDArray x) {
        NDArray r = relu(x);
        if (r.buffer() != x.buffer()) {
            copyInto(x, r);
            r.buffer().close();
        }
    }

    /** Sums {@code x} over the dimensions in which {@code target} (which broadcasts to x) is 1 or absent. */
    NDArray sumTo(NDArray x, Shape target);

    /** Sum of squares of all elements, accumulated in double (gradient clipping, norms). */
    double sumOfSquares(NDArray x);

    // ---- convolution ------------------------------------------------------------------------------

    /** x [N,C,H,W], w [K,C/g,R,S], bias [K] or null -> [N,K,Ho,Wo]. */
    NDArray conv2d(NDArray x, NDArray w, NDArray bias, Conv2dSpec spec);

    /**
     * Inference-only convolution with its epilogue fused: {@code relu(conv2d(x, w) + bias + residual)}, the relu
     * only when {@code relu} is set. {@code bias} is [K] or null; {@code residual} is [N,K,Ho,Wo] or null (a ResNet
     * shortcut, added before the relu). Writes into {@code out} when it is given ([N,K,Ho,Wo], any layout, not
     * aliasing an input) and returns it, else returns a new array. Saves nothing for a backward pass.
     *
     * <p>This default composes {@link #conv2d}, {@link #add} and {@link #relu} (so it rounds after each step);
     * a backend with fused kernels (oneDNN post-ops) overrides it.
     */
    default NDArray conv2dInference(NDArray x, NDArray w, NDArray bias, NDArray residual, boolean relu, Conv2dSpec spec,
                                    NDArray out) {
        NDArray y = conv2d(x, w, bias, spec);
        if (residual != null) {
            NDArray sum = add(y, residual);
            y.buffer().close();
            y = sum;
        }
        if (relu) {
            NDArray r = relu(y);
            if (r.buffer() != y.buffer()) {
                y.buffer().close();
            }
            y = r;
        }
        if (out == null) {
            return y;
        }
        copyInto(out, y);
        y.buffer().close();
        return out;
    }

    /**
     * Whether this backend runs inference convolutions in {@code precision} on this machine: {@link Precision#FP32}
     * everywhere; {@link Precision#BF16} and {@link Precision#INT8} only where a backend overrides this (the cpu
     * backend: int8 always, bf16 where the CPU has bf16 instructions). {@link #precisionSupport} says why not.
     */
    default boolean supportsInference(Precision precision) {
        return precision == Precision.FP32;
    }

    /** A sentence saying whether and how {@code precision} runs here (for refusals and {@code graft doctor}). */
    default String precisionSupport(Precision precision) {
        return precision == Precision.FP32 ? "fp32: yes"
                : precision + " inference runs only on the cpu device (oneDNN); this backend computes in fp32 only";
    }

    /**
     * {@link #conv2dInference} with bfloat16 products: x and w are rounded to bfloat16, products are summed in
     * fp32, bias, residual and relu are applied in fp32 and the output is fp32. Each output thus differs from the fp32
     * result by at most about {@code 2^-8 * sum |x||w|} (two roundings of relative size 2^-9). A backend that cannot
     * refuses with a DeviceException; it never falls back to fp32 silently.
     */
    default NDArray conv2dInferenceBf16(NDArray x, NDArray w, NDArray bias, NDArray residual, boolean relu, Conv2dSpec spec,
                                        NDArray out) {
        throw new DeviceException(precisionSupport(Precision.BF16));
    }

    /**
     * Quantized inference convolution. x (fp32) is quantized with one scale, {@code qx = sat(rint(x / xScale))}
     * into u8 [0, 255] when {@code xUnsigned} (x is known to be >= 0, e.g. after a relu) or s8 [-128, 127] otherwise;
     * {@code wq} [K, C/g, R, S] (fp32 storage) holds integers in [-127, 127] with one scale per output channel
     * {@code wScales[k]}. The products are summed exactly in int32, then {@code y = acc * xScale * wScales[k] + bias[k]}
     * (+ residual, then relu) in fp32; the output is fp32. An image of x holding a NaN or an infinity gets all-NaN outputs. A backend
     * that cannot refuses with a DeviceException.
     */
    default NDArray conv2dInferenceInt8(NDArray x, float xScale, boolean xUnsigned, NDArray wq, float[] wScales, NDArray bias,
                                        NDArray residual, boolean relu, Conv2dSpec spec, NDArray out) {
        throw new DeviceException(precisionSupport(Precision.INT8));
    }

    /** Gradient with respect to the input. */
    NDArray conv2dBackwardData(NDArray dy, NDArray w, Shape xShape, Conv2dSpec spec);

    /** Gradient with respect to the weights (row-major OIHW). */
    NDArray conv2dBackwardWeights(NDArray dy, NDArray x, Shape wShape, Conv2dSpec spec);

    // ---- batch norm (per channel of dim 1) --------------------------------------------------------

    /** Normalises with the batch's statistics; returns them too (variance biased, divided by N*H*W). */
    BatchNormStats batchNormTraining(NDArray x, NDArray gamma, NDArray beta, double eps);

    /** Normalises with given statistics (eval mode). */
    NDArray batchNormInference(NDArray x, NDArray gamma, NDArray beta, NDArray mean, NDArray variance, double eps);

    /**
     * Gradients. {@code batchStatistics}: the forward used the batch's own mean and variance (so they
     * depend on x); otherwise they were constants (eval mode). Entries not needed come back null.
     */
    BatchNormGrads batchNormBackward(NDArray dy, NDArray x, NDArray gamma, NDArray mean, NDArray variance,
                                     double eps, boolean batchStatistics, boolean needInput, boolean needParams);

    /**
     * {@code relu(batchNormTraining(x))}, exactly: the output has the relu applied, mean and variance are the batch's.
     * A backend may fuse the relu into the normalisation and return a {@code workspace} for
     * {@link #batchNormReluBackward}; this default runs the two kernels (relu in place) and returns none.
     */
    default BatchNormStats batchNormTrainingRelu(NDArray x, NDArray gamma, NDArray beta, double eps) {
        BatchNormStats s = batchNormTraining(x, gamma, beta, eps);
        reluInPlace(s.output());
        return s;
    }

    /**
     * Gradients of {@link #batchNormTrainingRelu} given its output {@code y} and {@code workspace}: exactly
     * {@link #reluBackward} followed by {@link #batchNormBackward} with batch statistics, which this default runs.
     */
    default BatchNormGrads batchNormReluBackward(NDArray dy, NDArray y, Buffer workspace, NDArray x, NDArray gamma,
                                                 NDArray mean, NDArray variance, double eps, boolean needInput,
                                                 boolean needParams, boolean mayOverwriteDy) {
        NDArray masked = reluBackward(dy, y, mayOverwriteDy);
        // The masked gradient is the caller's to overwrite unless it is dy itself and dy is not.
        boolean ours = masked.buffer() != dy.buffer() || mayOverwriteDy;
        BatchNormGrads r = batchNormBackward(masked, x, gamma, mean, variance, eps, true, needInput, needParams, ours);
        if (masked.buffer() != dy.buffer() && (r.input() == null || r.input().buffer() != masked.buffer())) {
            masked.buffer().close();
        }
        return r;
    }

    /** As above; with {@code mayOverwriteDy} the input gradient may be written over dy (see {@link #reluBackward(NDArray, NDArray, boolean)}). */
    default BatchNormGrads batchNormBackward(NDArray dy, NDArray x, NDArray gamma, NDArray mean, NDArray variance,
                                             double eps, boolean batchStatistics, boolean needInput, boolean needParams,
                                             boolean mayOverwriteDy) {
        return batchNormBackward(dy, x, gamma, mean, variance, eps, batchStatistics, needInput, needParams);
    }

    // ---- transformer ops, part 1 (issue 11): layer norm, GELU, roll, zero padding ---------------------------
    // Inputs and outputs of this block are logical row-major arrays of any rank; a backend brings a 4-D input
    // stored channels-last to row-major order first (the last axis of [N,H,W,C] is then contiguous).

    /**
     * Layer norm over the last axis of {@code x} [..., C] with {@code weight} and {@code bias} [C]:
     * {@code (x - mean) / sqrt(var + eps) * weight + bias}, the variance biased (divided by C), as
     * {@code torch.nn.functional.layer_norm(x, [C], weight, bias, eps)}. Returns the output and, for the backward
     * pass, the mean and the biased variance of every row ([rows], rows = numel / C).
     */
    BatchNormStats layerNorm(NDArray x, NDArray weight, NDArray bias, double eps);

    /**
     * Gradients of {@link #layerNorm} given the forward's {@code mean} and {@code variance}: input (x's shape),
     * weight and bias ([C]); entries not asked for come back null.
     */
    BatchNormGrads layerNormBackward(NDArray dy, NDArray x, NDArray weight, NDArray mean, NDArray variance, double eps,
                                     boolean needInput, boolean needParams);

    /**
     * GELU, elementwise: exact {@code x * Phi(x) = x/2 (1 + erf(x / sqrt 2))} (torch's default), or with
     * {@code tanh} torch's {@code approximate='tanh'}: {@code x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))}.
     */
    NDArray gelu(NDArray x, boolean tanh);

    /** {@code dy * gelu'(x)} for the same form of GELU. */
    NDArray geluBackward(NDArray dy, NDArray x, boolean tanh);

    /**
     * {@code torch.roll(x, shifts, dims)}: along each axis {@code axes[i]} the element at index j moves to
     * {@code (j + shifts[i]) mod dim}. Axes are distinct and non-negative, shifts already reduced to [0, dim).
     */
    NDArray roll(NDArray x, int[] shifts, int[] axes);

    /**
     * Zero padding: axis d of the result has {@code before[d] + x.dim(d) + after[d]} entries, x placed at offset
     * {@code before[d]}, zeros elsewhere (pads are non-negative; one entry per axis of x).
     */
    NDArray pad(NDArray x, int[] before, int[] after);

    /** The inverse of {@link #pad} (its gradient): the block of shape {@code outShape} at offsets {@code before}. */
    NDArray crop(NDArray x, int[] before, Shape outShape);

    // ---- pooling ----------------------------------------------------------------------------------

    /** Max pooling; {@code training} asks for whatever the backward pass will need. */
    Pooled maxPool2d(NDArray x, Pool2dSpec spec, boolean training);

    NDArray maxPool2dBackward(NDArray dy, NDArray x, Pooled forward, Pool2dSpec spec);

    /** Average pooling of [N,C,H,W] (see {@link AvgPool2dSpec}); output [N,C,Ho,Wo]. */
    NDArray avgPool2d(NDArray x, AvgPool2dSpec spec);

    /** Gradient of {@link #avgPool2d} with respect to its input of shape {@code xShape}. */
    NDArray avgPool2dBackward(NDArray dy, Shape xShape, AvgPool2dSpec spec);

    /** Mean over H and W: [N,C,H,W] -> [N,C,1,1] (adaptive average pooling to 1x1). */
    NDArray globalAvgPool(NDArray x);

    NDArray globalAvgPoolBackward(NDArray dy, Shape xShape);

    // ---- channel concatenation ------------------------------------------------------------------------

    /** {@code torch.cat(xs, dim=1)} of 4-D arrays with equal N, H and W (checked by the caller). */
    NDArray concatChannels(NDArray[] xs);

    /** The inverse of {@link #concatChannels}: {@code x} [N,sum(channels),H,W] cut into [N,channels[i],H,W]. */
    NDArray[] splitChannels(NDArray x, int[] channels);

    // ---- matrix product ---------------------------------------------------------------------------

    /** {@code op(a) @ op(b)} for 2-D arrays, op = transpose when the flag is set. */
    NDArray gemm(NDArray a, NDArray b, boolean transA, boolean transB);

    // ---- classification loss ----------------------------------------------------------------------

    /** Log-softmax over dimension 1 of [N,C]. */
    NDArray logSoftmax(NDArray x);

    /** {@code dy - exp(y) * rowsum(dy)}, where y is log-softmax's output. */
    NDArray logSoftmaxBackward(NDArray dy, NDArray y);

    /**
     * Mean negative log-likelihood of [N,C] log-probabilities, as {@code torch.nn.CrossEntropyLoss} defines it
     * on them: class weights (null = 1), label smoothing eps: loss_i = (1-eps) w[y_i] (-lp[i,y_i]) + (eps/C)
     * sum_c w[c] (-lp[i,c]), divided by sum_i w[y_i]. Returns a scalar.
     */
    NDArray nllLoss(NDArray logProbs, int[] labels, float[] classWeights, double labelSmoothing);

    /** Gradient of {@link #nllLoss} with respect to the log-probabilities, times the scalar {@code dLoss}. */
    NDArray nllLossBackward(NDArray dLoss, NDArray logProbs, int[] labels, float[] classWeights, double labelSmoothing);

    // ---- multi-label loss ----------------------------------------------------------------------------

    /**
     * Binary cross-entropy with logits of [N,L] logits against row-major [N,L] targets (1, 0, or NaN = unknown, left
     * out), optional per-label positive weights (torch's {@code pos_weight}; null = 1), mean over the KNOWN targets
     * (see {@link BinaryCrossEntropy}). Returns a scalar. The default copies the logits to the host and computes in
     * double there, on every backend: the array is batch x labels, negligible beside the network.
     */
    default NDArray bceWithLogits(NDArray logits, float[] targets, float[] posWeight) {
        double loss = BinaryCrossEntropy.forward(toHostDoubles(logits), targets, posWeight);
        return fromHost(new double[] {loss}, Shape.scalar(), logits.dtype());
    }

    /** Gradient of {@link #bceWithLogits} with respect to the logits, times the scalar {@code dLoss}. */
    default NDArray bceWithLogitsBackward(NDArray dLoss, NDArray logits, float[] targets, float[] posWeight) {
        double g = toHostDoubles(dLoss)[0];
        return fromHost(BinaryCrossEntropy.backward(g, toHostDoubles(logits), targets, posWeight), logits.shape(),
                logits.dtype());
    }

    // ---- fused optimizer updates (in place) -------------------------------------------------------

    /** {@code momentumBuffer} is null when momentum is 0; {@code firstStep} initialises it with the gradient. */
    void sgdUpdate(NDArray param, NDArray grad, NDArray momentumBuffer, SgdSpec spec, boolean firstStep);

    /** {@code step} counts from 1. */
    void adamwUpdate(NDArray param, NDArray grad, NDArray m, NDArray v, AdamWSpec spec, long step);

    // ---- transformer ops: matrix products, layout, attention (issue 11, item 1; tops2) ------------------------
    //
    // Inputs and outputs of these kernels are row-major (the Functions pass row-major arrays). The defaults below
    // run on the host in double and round once when storing: they are the reference backend's implementation, and
    // a backend overrides what it has a kernel for (TransformerKernels documents which).

    /**
     * {@code op(a[i]) @ op(b[i])} for every i of the batch: a [B,M,K] ([B,K,M] with transA), b [B,K,N] ([B,N,K]
     * with transB) -> [B,M,N]. The default sums each dot product in double in increasing k.
     */
    default NDArray batchedGemm(NDArray a, NDArray b, boolean transA, boolean transB) {
        return TransformerKernels.batchedGemm(this, a, b, transA, transB);
    }

    /** {@code x w^T + b}: x [M, K], w [N, K], b [N] -> [M, N]. The default is {@link #gemm} then {@link #add}. */
    default NDArray linear(NDArray x, NDArray w, NDArray b) {
        return add(gemm(x, w, false, true), b);
    }

    /**
     * The exact (erf) GELU of {@code x w^T + b} (a transformer MLP's first layer at inference: nothing keeps the
     * pre-activation). The default is {@link #linear} then {@link #gelu}; a backend may fuse the two.
     */
    default NDArray linearGelu(NDArray x, NDArray w, NDArray b) {
        return gelu(linear(x, w, b), false);
    }

    /**
     * {@code residual + (x w^T + b)}, residual [M, N] (a transformer block's output projection and its skip
     * connection at inference). The default is {@link #linear} then {@link #add}; a backend may fuse the two.
     */
    default NDArray linearAdd(NDArray x, NDArray w, NDArray b, NDArray residual) {
        return add(residual, linear(x, w, b));
    }

    /** The column sums of dy [M, N] -> [N] (a linear layer's bias gradient). The default is {@link #sumTo}. */
    default NDArray biasGrad(NDArray dy) {
        return sumTo(dy, Shape.of(dy.shape().dim(1)));
    }

    /**
     * Multi-head self-attention on a packed q/k/v projection qkv [N, T, 3C] (read as [N, T, 3, heads, C/heads]):
     * returns {out [N, T, C], probs [N, heads, T, T]} with probs = softmax(scale * q k^T) and out = probs v, heads
     * merged. The default composes the kernels above ({@link PackedAttention}); a backend may read q, k and v in
     * place instead of copying them out.
     */
    default NDArray[] packedAttention(NDArray qkv, int heads, double scale) {
        return PackedAttention.forward(this, qkv, heads, scale);
    }

    /** The gradient of {@link #packedAttention} with respect to qkv [N, T, 3C], from dOut [N, T, C] and its probs. */
    default NDArray packedAttentionBackward(NDArray dOut, NDArray qkv, NDArray probs, int heads, double scale) {
        return PackedAttention.backward(this, dOut, qkv, probs, heads, scale);
    }

    /** A row-major copy with the axes reordered: {@code out.dim(i) = x.dim(perm[i])} (torch's permute + contiguous). */
    default NDArray permute(NDArray x, int[] perm) {
        return TransformerKernels.permute(this, x, perm);
    }

    /** {@code torch.cat(xs, axis)} of arrays agreeing in every other dimension (checked by the caller); exact. */
    default NDArray concat(NDArray[] xs, int axis) {
        return TransformerKernels.concat(this, xs, axis);
    }

    /** {@code x.narrow(axis, start, length)} as a new row-major array; exact. */
    default NDArray narrow(NDArray x, int axis, int start, int length) {
        return TransformerKernels.narrow(this, x, axis, start, length);
    }

    /** Softmax over the last axis; the default subtracts the row maximum and sums the exponentials in double. */
    default NDArray softmax(NDArray x) {
        return TransformerKernels.softmax(this, x);
    }

    /** {@code dx = y * (dy - sum(dy * y))} per row of the last axis, y being softmax's output. */
    default NDArray softmaxBackward(NDArray dy, NDArray y) {
        return TransformerKernels.softmaxBackward(this, dy, y);
    }

    /** {@code torch.index_select(x, axis, index)}: out has {@code index.length} entries along axis; exact. */
    default NDArray indexSelect(NDArray x, int axis, int[] index) {
        return TransformerKernels.indexSelect(this, x, axis, index);
    }

    /**
     * The gradient of {@link #indexSelect}: zeros of {@code xShape} with {@code dy}'s slice j added to slice
     * {@code index[j]} (scatter-add). The default accumulates in double in increasing j and rounds once.
     */
    default NDArray indexSelectBackward(NDArray dy, int axis, int[] index, Shape xShape) {
        return TransformerKernels.indexSelectBackward(this, dy, axis, index, xShape);
    }

    /** Frees cached primitives and handles. Arrays made by this backend must be freed by their scopes first. */
    @Override
    void close();
}
