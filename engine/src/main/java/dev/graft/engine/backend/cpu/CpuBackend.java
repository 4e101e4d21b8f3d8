package dev.graft.engine.backend.cpu;

import dev.graft.engine.DType;
import dev.graft.engine.Device;
import dev.graft.engine.DeviceException;
import dev.graft.engine.GraftException;
import dev.graft.engine.Layout;
import dev.graft.engine.NDArray;
import dev.graft.engine.Precision;
import dev.graft.engine.Shape;
import dev.graft.engine.backend.AdamWSpec;
import dev.graft.engine.backend.Backend;
import dev.graft.engine.backend.BatchNormGrads;
import dev.graft.engine.backend.BatchNormStats;
import dev.graft.engine.backend.Buffer;
import dev.graft.engine.backend.Conv2dSpec;
import dev.graft.engine.backend.AvgPool2dSpec;
import dev.graft.engine.backend.Pool2dSpec;
import dev.graft.engine.backend.Pooled;
import dev.graft.engine.backend.SgdSpec;

import java.util.List;

/**
 * The {@code cpu} device: F32 kernels on oneDNN (through JavaCPP's {@code org.bytedeco.dnnl}) over aligned
 * off-heap buffers. 4-D activations come out channels-last (NHWC), the layout oneDNN's fast convolution,
 * batch-norm and pooling kernels share, so a ResNet runs without layout changes between layers; row-major
 * inputs (an image batch from the host) are reordered once at the first op. Weights stay row-major OIHW.
 * Primitives are cached by shape, per op family; {@link #close()} frees them.
 *
 * <p>Kernel calls are serialised on this object: the cached primitives, argument maps and the oneDNN stream
 * are single-threaded state. Parallelism is inside each kernel (OpenMP for oneDNN, {@link Parallel} for the
 * Java loops), with the thread count of {@link #threads()}.
 */
public final class CpuBackend implements Backend {
    private final Dnnl dnnl;
    private final Parallel parallel;
    private final CpuReorders reorders;
    private final CpuElementwise elementwise;
    private final CpuBinary binary;
    private final CpuReduction reduction;
    private final ValueBounds bounds;
    private final CpuConvolution convolution;
    private final CpuFusedConvolution fusedConvolution;
    private final CpuBatchNorm batchNorm;
    private final CpuTransformerOps transformerOps;
    private final CpuPooling pooling;
    private final CpuConcat concat;
    private final CpuMatmul matmul;
    private final CpuTransformer transformer;
    private final CpuSoftmaxLoss softmaxLoss;
    private final CpuOptimizers optimizers;
    private final String description;
    private Precision precision = Precision.FP32;
    private boolean closed;

    CpuBackend() {
        dnnl = new Dnnl();
        parallel = new Parallel(threads());
        reorders = new CpuReorders(dnnl);
        elementwise = new CpuElementwise(this, reorders, parallel);
        binary = new CpuBinary(dnnl, this, reorders);
        reduction = new CpuReduction(dnnl, this, reorders, parallel);
        convolution = new CpuConvolution(dnnl, this, reorders);
        bounds = new ValueBounds(reduction);
        fusedConvolution = new CpuFusedConvolution(dnnl, this, reorders, bounds, elementwise);
        batchNorm = new CpuBatchNorm(dnnl, this, reorders);
        transformerOps = new CpuTransformerOps(dnnl, this, reorders, parallel);
        pooling = new CpuPooling(dnnl, this, reorders, bounds);
        concat = new CpuConcat(this, reorders, parallel);
        matmul = new CpuMatmul(dnnl, this);
        transformer = new CpuTransformer(dnnl, this);
        softmaxLoss = new CpuSoftmaxLoss(this);
        optimizers = new CpuOptimizers(this, reorders, parallel);
        description = "cpu: " + runtimeSummary();
    }

    /** Loads oneDNN, creates and frees an engine, and describes the runtime; throws whatever the loading throws. */
    static String probe() {
        try (Dnnl d = new Dnnl()) {
            return runtimeSummary() + ", engine created";
        }
    }

    /** oneDNN version, runtime, ISA and thread count; loads the native library (callers catch failures). */
    static String runtimeSummary() {
        return Dnnl.versionAndIsa() + ", " + threads() + " threads"
                + (System.getenv("OMP_NUM_THREADS") != null ? " (OMP_NUM_THREADS)" : " (one per core; set OMP_NUM_THREADS to change)");
    }

    /**
     * Threads oneDNN runs: OMP_NUM_THREADS when set (its OpenMP runtime reads it at load; it cannot be changed
     * from Java afterwards), else one per available core. The Java loops use the same number.
     */
    static int threads() {
        String env = System.getenv("OMP_NUM_THREADS");
        if (env != null) {
            try {
                int n = Integer.parseInt(env.split(",")[0].trim());
                if (n > 0) {
                    return n;
                }
            } catch (NumberFormatException e) {
                // OpenMP ignores a malformed value too; fall through to the core count.
            }
        }
        return Runtime.getRuntime().availableProcessors();
    }

    @Override
    public Device device() {
        return Device.CPU;
    }

    @Override
    public String description() {
        return description;
    }

    @Override
    public boolean supports(DType dtype) {
        return dtype == DType.F32;
    }

    @Override
    public Layout activationLayout() {
        return Layout.CHANNELS_LAST;
    }

    // ---- precision ----------------------------------------------------------------------------------------

    @Override
    public synchronized Precision precision() {
        return precision;
    }

    /**
     * FP32, or BF16 where the CPU multiplies bf16 natively ({@link #bf16Refusal}); the convolution and matmul classes
     * read it when they pick (and cache) a primitive. INT8 is refused: it is for inference, not training kernels.
     */
    @Override
    public synchronized void setPrecision(Precision p) {
        open();
        if (p == Precision.INT8) {
            throw new DeviceException("--precision int8 is for inference only; train with --precision fp32 or bf16");
        }
        if (p == Precision.BF16) {
            String refusal = bf16Refusal(Dnnl.isa());
            if (refusal != null) {
                throw new DeviceException(refusal);
            }
        }
        precision = p;
    }

    /** Why this CPU cannot train in bf16 (null when it can), from oneDNN's effective ISA name. */
    static String bf16Refusal(String isa) {
        if (Dnnl.nativeBf16(isa)) {
            return null;
        }
        return "--precision bf16 needs a CPU with native bfloat16 arithmetic (AVX512-BF16, AMX or AVX10: oneDNN ISA "
                + "avx512_core_bf16 or newer); this one has oneDNN ISA " + isa + ", where bf16 would be emulated and no "
                + "faster than fp32; use --precision fp32";
    }

    // ---- memory -------------------------------------------------------------------------------------------

    @Override
    public synchronized NDArray empty(DType dtype, Shape shape, Layout layout) {
        open();
        if (dtype != DType.F32) {
            throw new DeviceException("the cpu device computes in F32 only, not " + dtype
                    + "; use the reference device for F64 (I64 tensors are created with fromHostLongs)");
        }
        return new NDArray(this, new NativeBuffer(shape.numel()), shape, layout);
    }

    @Override
    public synchronized NDArray fromHost(float[] data, Shape shape) {
        NDArray a = empty(DType.F32, shape, Layout.ROW_MAJOR);
        NativeBuffer.of(a).pointer().put(data, 0, shape.numel());
        return a;
    }

    @Override
    public synchronized NDArray fromHost(double[] data, Shape shape, DType dtype) {
        if (dtype != DType.F32) {
            throw new DeviceException("the cpu device computes in F32 only, not " + dtype + "; use the reference device for F64");
        }
        float[] f = new float[data.length];
        for (int i = 0; i < f.length; i++) {
            f[i] = (float) data[i];
        }
        return fromHost(f, shape);
    }

    @Override
    public synchronized void copyFromHost(NDArray dst, float[] data) {
        open();
        reorders.fromHost(dst, data);
    }

    @Override
    public synchronized float[] toHostFloats(NDArray a) {
        open();
        return reorders.toHost(a);
    }

    @Override
    public synchronized double[] toHostDoubles(NDArray a) {
        float[] f = toHostFloats(a);
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }

    @Override
    public synchronized NDArray toLayout(NDArray a, Layout layout) {
        open();
        return reorders.toLayout(a, layout, this);
    }

    @Override
    public synchronized void copyInto(NDArray dst, NDArray src) {
        open();
        reorders.copy(src, dst);
    }

    @Override
    public synchronized void fill(NDArray a, double value) {
        open();
        elementwise.fill(a, value);
    }

    // ---- elementwise and reductions -----------------------------------------------------------------------

    @Override
    public synchronized NDArray add(NDArray a, NDArray b) {
        open();
        return binary.apply(CpuBinary.Op.ADD, a, b);
    }

    @Override
    public synchronized NDArray mul(NDArray a, NDArray b) {
        open();
        return binary.apply(CpuBinary.Op.MUL, a, b);
    }

    @Override
    public synchronized NDArray scale(NDArray a, double alpha) {
        open();
        return elementwise.scale(a, alpha);
    }

    @Override
    public synchronized void scaleInPlace(NDArray a, double alpha) {
        open();
        elementwise.scaleInPlace(a, alpha);
    }

    @Override
    public synchronized void axpyInPlace(NDArray y, double alpha, NDArray x) {
        open();
        elementwise.axpyInPlace(y, alpha, x);
    }

    @Override
    public synchronized NDArray relu(NDArray x) {
        open();
        return elementwise.relu(x);
    }

    @Override
    public synchronized NDArray reluBackward(NDArray dy, NDArray y) {
        open();
        return elementwise.reluBackward(dy, y, false);
    }

    @Override
    public synchronized NDArray reluBackward(NDArray dy, NDArray y, boolean mayOverwriteDy) {
        open();
        return elementwise.reluBackward(dy, y, mayOverwriteDy);
    }

    @Override
    public synchronized NDArray addRelu(NDArray a, NDArray b) {
        open();
        if (!a.shape().equals(b.shape())) {
            return Backend.super.addRelu(a, b);
        }
        return elementwise.addRelu(a, b);
    }

    @Override
    public synchronized void reluInPlace(NDArray x) {
        open();
        elementwise.reluInPlace(x);
    }

    @Override
    public synchronized NDArray sumTo(NDArray x, Shape target) {
        open();
        return reduction.sumTo(x, target);
    }

    @Override
    public synchronized double sumOfSquares(NDArray x) {
        open();
        return reduction.sumOfSquares(x);
    }

    // ---- convolution --------------------------------------------------------------------------------------

    @Override
    public synchronized NDArray conv2d(NDArray x, NDArray w, NDArray bias, Conv2dSpec spec) {
        open();
        if (ReferenceRoutedConvolution.routesForward(x.shape(), w.shape(), spec)) {
            return ReferenceRoutedConvolution.forward(this, x, w, bias, spec);
        }
        return convolution.forward(x, w, bias, spec);
    }

    @Override
    public synchronized NDArray conv2dInference(NDArray x, NDArray w, NDArray bias, NDArray residual, boolean relu,
                                                Conv2dSpec spec, NDArray out) {
        open();
        if (ReferenceRoutedConvolution.routesForward(x.shape(), w.shape(), spec)) {
            // Inference kernels compute in fp32 whatever the training precision (Backend#precision).
            Precision training = precision;
            precision = Precision.FP32;
            try {
                return Backend.super.conv2dInference(x, w, bias, residual, relu, spec, out);
            } finally {
                precision = training;
            }
        }
        return fusedConvolution.forward(x, w, bias, residual, relu, spec, out);
    }

    @Override
    public boolean supportsInference(Precision precision) {
        return precision != Precision.BF16 || CpuFusedConvolution.hasBf16();
    }

    @Override
    public String precisionSupport(Precision precision) {
        return switch (precision) {
            case FP32 -> "fp32: yes";
            case INT8 -> "int8: yes (oneDNN u8/s8 x s8 convolutions, int32 accumulation"
                    + (CpuFusedConvolution.hasVnni() ? ", VNNI instructions)" : "; this CPU has no VNNI instructions, so int8 is slower than it could be)");
            case BF16 -> CpuFusedConvolution.hasBf16() ? "bf16: yes (" + Dnnl.versionAndIsa() + ")"
                    : "bf16 inference needs a CPU with bfloat16 instructions (AVX512_BF16, AMX or AVX10); oneDNN reports "
                    + Dnnl.versionAndIsa() + "; use --precision fp32 or int8";
        };
    }

    @Override
    public synchronized NDArray conv2dInferenceBf16(NDArray x, NDArray w, NDArray bias, NDArray residual, boolean relu,
                                                    Conv2dSpec spec, NDArray out) {
        open();
        if (!CpuFusedConvolution.hasBf16()) {
            throw new DeviceException(precisionSupport(Precision.BF16));
        }
        return fusedConvolution.forwardBf16(x, w, bias, residual, relu, spec, out);
    }

    @Override
    public synchronized NDArray conv2dInferenceInt8(NDArray x, float xScale, boolean xUnsigned, NDArray wq, float[] wScales,
                                                    NDArray bias, NDArray residual, boolean relu, Conv2dSpec spec, NDArray out) {
        open();
        return fusedConvolution.forwardInt8(x, xScale, xUnsigned, wq, wScales, bias, residual, relu, spec, out);
    }

    @Override
    public synchronized NDArray conv2dBackwardData(NDArray dy, NDArray w, Shape xShape, Conv2dSpec spec) {
        open();
        if (ReferenceRoutedConvolution.routesBackward(xShape, w.shape(), spec)
                || (ReferenceRoutedConvolution.routesBackwardDataOfNonFiniteWeights(spec) && !(bounds.of(w) < Double.POSITIVE_INFINITY))) {
            return ReferenceRoutedConvolution.backwardData(this, dy, w, xShape, spec);
        }
        return convolution.backwardData(dy, w, xShape, spec);
    }

    @Override
    public synchronized NDArray conv2dBackwardWeights(NDArray dy, NDArray x, Shape wShape, Conv2dSpec spec) {
        open();
        if (ReferenceRoutedConvolution.routesBackward(x.shape(), wShape, spec)) {
            return ReferenceRoutedConvolution.backwardWeights(this, dy, x, wShape, spec);
        }
        return convolution.backwardWeights(dy, x, wShape, spec);
    }

    // ---- batch norm ---------------------------------------------------------------------------------------

    @Override
    public synchronized BatchNormStats batchNormTraining(NDArray x, NDArray gamma, NDArray beta, double eps) {
        open();
        return batchNorm.training(x, gamma, beta, eps);
    }

    @Override
    public synchronized BatchNormStats batchNormTrainingRelu(NDArray x, NDArray gamma, NDArray beta, double eps) {
        open();
        return batchNorm.trainingRelu(x, gamma, beta, eps, elementwise);
    }

    @Override
    public synchronized BatchNormGrads batchNormReluBackward(NDArray dy, NDArray y, Buffer workspace, NDArray x, NDArray gamma,
                                                             NDArray mean, NDArray variance, double eps, boolean needInput,
                                                             boolean needParams, boolean mayOverwriteDy) {
        open();
        if (!(workspace instanceof NativeBuffer mask)) {
            // The forward ran unfused (non-finite batch statistics): so does the backward.
            return Backend.super.batchNormReluBackward(dy, y, null, x, gamma, mean, variance, eps, needInput, needParams,
                    mayOverwriteDy);
        }
        return batchNorm.backwardRelu(dy, mask, x, gamma, mean, variance, eps, needInput, needParams, mayOverwriteDy);
    }

    @Override
    public synchronized NDArray batchNormInference(NDArray x, NDArray gamma, NDArray beta, NDArray mean, NDArray variance,
                                                   double eps) {
        open();
        return batchNorm.inference(x, gamma, beta, mean, variance, eps);
    }

    @Override
    public synchronized BatchNormGrads batchNormBackward(NDArray dy, NDArray x, NDArray gamma, NDArray mean, NDArray variance,
                                                         double eps, boolean batchStatistics, boolean needInput,
                                                         boolean needParams) {
        open();
        return batchNorm.backward(dy, x, gamma, mean, variance, eps, batchStatistics, needInput, needParams, false);
    }

    @Override
    public synchronized BatchNormGrads batchNormBackward(NDArray dy, NDArray x, NDArray gamma, NDArray mean, NDArray variance,
                                                         double eps, boolean batchStatistics, boolean needInput,
                                                         boolean needParams, boolean mayOverwriteDy) {
        open();
        return batchNorm.backward(dy, x, gamma, mean, variance, eps, batchStatistics, needInput, needParams, mayOverwriteDy);
    }

    // ---- pooling ------------------------------------------------------------------------------------------

    @Override
    public synchronized Pooled maxPool2d(NDArray x, Pool2dSpec spec, boolean training) {
        open();
        return pooling.maxForward(x, spec, training);
    }

    @Override
    public synchronized NDArray maxPool2dBackward(NDArray dy, NDArray x, Pooled forward, Pool2dSpec spec) {
        open();
        return pooling.maxBackward(dy, x, forward, spec);
    }

    // ---- transformer ops, part 1 (issue 11): layer norm, GELU, roll, zero padding ---------------------------

    @Override
    public synchronized BatchNormStats layerNorm(NDArray x, NDArray weight, NDArray bias, double eps) {
        open();
        return transformerOps.layerNorm(x, weight, bias, eps);
    }

    @Override
    public synchronized BatchNormGrads layerNormBackward(NDArray dy, NDArray x, NDArray weight, NDArray mean,
                                                         NDArray variance, double eps, boolean needInput, boolean needParams) {
        open();
        return transformerOps.layerNormBackward(dy, x, weight, mean, variance, eps, needInput, needParams);
    }

    @Override
    public synchronized NDArray gelu(NDArray x, boolean tanh) {
        open();
        return transformerOps.gelu(x, tanh);
    }

    @Override
    public synchronized NDArray geluBackward(NDArray dy, NDArray x, boolean tanh) {
        open();
        return transformerOps.geluBackward(dy, x, tanh);
    }

    @Override
    public synchronized NDArray roll(NDArray x, int[] shifts, int[] axes) {
        open();
        return transformerOps.roll(x, shifts, axes);
    }

    @Override
    public synchronized NDArray pad(NDArray x, int[] before, int[] after) {
        open();
        return transformerOps.pad(x, before, after);
    }

    @Override
    public synchronized NDArray crop(NDArray x, int[] before, Shape outShape) {
        open();
        return transformerOps.crop(x, before, outShape);
    }

    @Override
    public synchronized NDArray avgPool2d(NDArray x, AvgPool2dSpec spec) {
        open();
        return pooling.avgForward(x, spec);
    }

    @Override
    public synchronized NDArray avgPool2dBackward(NDArray dy, Shape xShape, AvgPool2dSpec spec) {
        open();
        return pooling.avgBackward(dy, xShape, spec);
    }

    @Override
    public synchronized NDArray concatChannels(NDArray[] xs) {
        open();
        return concat.concat(xs);
    }

    @Override
    public synchronized NDArray[] splitChannels(NDArray x, int[] channels) {
        open();
        return concat.split(x, channels);
    }

    @Override
    public synchronized NDArray globalAvgPool(NDArray x) {
        open();
        return pooling.globalAvgForward(x);
    }

    @Override
    public synchronized NDArray globalAvgPoolBackward(NDArray dy, Shape xShape) {
        open();
        return pooling.globalAvgBackward(dy, xShape);
    }

    // ---- matrix product and loss --------------------------------------------------------------------------

    @Override
    public synchronized NDArray gemm(NDArray a, NDArray b, boolean transA, boolean transB) {
        open();
        return matmul.gemm(a, b, transA, transB);
    }

    @Override
    public synchronized NDArray logSoftmax(NDArray x) {
        open();
        return softmaxLoss.logSoftmax(x);
    }

    @Override
    public synchronized NDArray logSoftmaxBackward(NDArray dy, NDArray y) {
        open();
        return softmaxLoss.logSoftmaxBackward(dy, y);
    }

    @Override
    public synchronized NDArray nllLoss(NDArray logProbs, int[] labels, float[] classWeights, double labelSmoothing) {
        open();
        return softmaxLoss.nll(logProbs, labels, classWeights, labelSmoothing);
    }

    @Override
    public synchronized NDArray nllLossBackward(NDArray dLoss, NDArray logProbs, int[] labels, float[] classWeights,
                                                double labelSmoothing) {
        open();
        return softmaxLoss.nllBackward(dLoss, logProbs, labels, classWeights, labelSmoothing);
    }

    // ---- optimizers ---------------------------------------------------------------------------------------

    @Override
    public synchronized void sgdUpdate(NDArray param, NDArray grad, NDArray momentumBuffer, SgdSpec spec, boolean firstStep) {
        open();
        optimizers.sgd(param, grad, momentumBuffer, spec, firstStep);
    }

    @Override
    public synchronized void adamwUpdate(NDArray param, NDArray grad, NDArray m, NDArray v, AdamWSpec spec, long step) {
        open();
        optimizers.adamw(param, grad, m, v, spec, step);
    }

    // ---- diagnostics (tests, graft doctor) ------------------------------------------------------------------

    /**
     * Diagnostic: oneDNN's kernel names for forward, backward-data and backward-weights of one convolution shape
     * (builds and caches the primitives). A name with "ref" or "jit_uni_ncsp" marks a slow path.
     */
    public synchronized List<String> convolutionImplementations(Shape x, Shape w, Conv2dSpec spec) {
        open();
        return convolution.implementations(x, w, spec);
    }

    /** Diagnostic: oneDNN's kernel name for {@link #conv2dInference} of one shape and epilogue. */
    public synchronized String fusedConvolutionImplementation(Shape x, Shape w, Conv2dSpec spec, boolean bias,
                                                              boolean residual, boolean relu) {
        open();
        return fusedConvolution.implementation(x, w, spec, bias, residual, relu);
    }

    /** Diagnostic: oneDNN's kernel name for a bf16 or int8 ({@code unsigned} input) inference convolution. */
    public synchronized String lowPrecisionConvolutionImplementation(Precision precision, boolean unsigned, Shape x, Shape w,
                                                                     Conv2dSpec spec, boolean residual, boolean relu) {
        open();
        return fusedConvolution.implementation(precision, unsigned, x, w, spec, residual, relu);
    }

    /** Bytes of native memory held by live cpu buffers, cached weight copies and scratch, process-wide. */
    public static long nativeBytesInUse() {
        return NativeMemory.bytesInUse();
    }

    /** Bytes of freed large blocks the caching allocator keeps for reuse (see {@link NativeMemory}). */
    public static long nativeBytesCached() {
        return NativeMemory.bytesCached();
    }

    /** Most bytes of native memory live at once (see {@link #nativeBytesInUse()}) since {@link #resetNativePeaks()}. */
    public static long nativePeakBytesInUse() {
        return NativeMemory.peakBytesInUse();
    }

    /** Most bytes of native memory live or cached at once since {@link #resetNativePeaks()}. */
    public static long nativePeakBytesHeld() {
        return NativeMemory.peakBytesHeld();
    }

    public static void resetNativePeaks() {
        NativeMemory.resetPeaks();
    }

    /** Returns the caching allocator's free blocks to the system. */
    public static void releaseCachedMemory() {
        NativeMemory.releaseCached();
    }

    /** What this backend knows of its buffers' values (tests). */
    ValueBounds bounds() {
        return bounds;
    }

    synchronized int cachedWeightCopies() {
        return convolution.cachedWeightCopies();
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (AutoCloseable c : new AutoCloseable[] {convolution, fusedConvolution, batchNorm, transformerOps, pooling, binary, reduction, matmul, transformer, reorders}) {
            try {
                c.close();
            } catch (Exception e) {
                throw new GraftException("closing the cpu backend failed: " + e.getMessage(), e);
            }
        }
        parallel.close();
        dnnl.close();
        NativeMemory.releaseCached();
    }

    // ---- transformer ops: matrix products, layout, attention (issue 11; CpuTransformer) -----------------------

    @Override
    public synchronized NDArray batchedGemm(NDArray a, NDArray b, boolean transA, boolean transB) {
        open();
        return transformer.batchedGemm(a, b, transA, transB);
    }

    @Override
    public synchronized NDArray linear(NDArray x, NDArray w, NDArray b) {
        open();
        if (precision() != Precision.FP32) { // the fused kernel is fp32: bf16 composes gemm (bf16 operands) and add
            return Backend.super.linear(x, w, b);
        }
        return transformer.linear(x, w, b);
    }

    @Override
    public synchronized NDArray linearGelu(NDArray x, NDArray w, NDArray b) {
        open();
        if (precision() != Precision.FP32) { // as linear: the fused kernel is fp32, bf16 composes
            return Backend.super.linearGelu(x, w, b);
        }
        return transformer.linear(x, w, b, true);
    }

    @Override
    public synchronized NDArray linearAdd(NDArray x, NDArray w, NDArray b, NDArray residual) {
        open();
        if (precision() != Precision.FP32) { // as linear: the fused kernel is fp32, bf16 composes
            return Backend.super.linearAdd(x, w, b, residual);
        }
        return transformer.linear(x, w, b, false, residual);
    }

    @Override
    public synchronized NDArray biasGrad(NDArray dy) {
        open();
        return transformer.biasGrad(dy);
    }

    @Override
    public synchronized NDArray[] packedAttention(NDArray qkv, int heads, double scale) {
        open();
        if (precision() != Precision.FP32) { // the strided kernels are fp32: bf16 composes the batched gemms
            return Backend.super.packedAttention(qkv, heads, scale);
        }
        return transformer.packedAttention(qkv, heads, scale);
    }

    @Override
    public synchronized NDArray packedAttentionBackward(NDArray dOut, NDArray qkv, NDArray probs, int heads, double scale) {
        open();
        if (precision() != Precision.FP32) {
            return Backend.super.packedAttentionBackward(dOut, qkv, probs, heads, scale);
        }
        return transformer.packedAttentionBackward(dOut, qkv, probs, heads, scale);
    }

    @Override
    public synchronized NDArray permute(NDArray x, int[] perm) {
        open();
        return transformer.permute(x, perm);
    }

    @Override
    public synchronized NDArray concat(NDArray[] xs, int axis) {
        open();
        return transformer.concat(xs, axis);
    }

    @Override
    public synchronized NDArray narrow(NDArray x, int axis, int start, int length) {
        open();
        return transformer.narrow(x, axis, start, length);
    }

    @Override
    public synchronized NDArray softmax(NDArray x) {
        open();
        return transformer.softmax(x);
    }

    @Override
    public synchronized NDArray softmaxBackward(NDArray dy, NDArray y) {
        open();
        return transformer.softmaxBackward(dy, y);
    }

    private void open() {
        if (closed) {
            throw new GraftException("the cpu backend was closed; get a new one from Backends.get(Device.CPU)");
        }
    }
}
