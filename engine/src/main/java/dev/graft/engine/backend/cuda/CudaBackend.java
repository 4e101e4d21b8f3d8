package dev.graft.engine.backend.cuda;

import dev.graft.engine.DType;
import dev.graft.engine.Device;
import dev.graft.engine.DeviceException;
import dev.graft.engine.Layout;
import dev.graft.engine.NDArray;
import dev.graft.engine.Shape;
import dev.graft.engine.backend.AdamWSpec;
import dev.graft.engine.backend.Backend;
import dev.graft.engine.backend.BatchNormGrads;
import dev.graft.engine.backend.BatchNormStats;
import dev.graft.engine.backend.Conv2dSpec;
import dev.graft.engine.backend.AvgPool2dSpec;
import dev.graft.engine.backend.Pool2dSpec;
import dev.graft.engine.backend.Pooled;
import dev.graft.engine.backend.SgdSpec;
import org.bytedeco.javacpp.FloatPointer;

import static dev.graft.engine.backend.cuda.CudaArrays.addr;

/**
 * The cuda backend: cuDNN (convolution, batch norm, pooling, ReLU, log-softmax), cuBLAS (gemm, axpy, scal) and
 * NVRTC-compiled kernels (the rest), all on one stream of one device.
 *
 * <p>{@link #supports} is true for F32 only: F64 lives on the reference backend (gradient checks), I64 arrays
 * are host-resident through the SPI's default methods. Math is exact FP32 unless {@link MathMode#FAST}.
 *
 * <p>Layout: {@link #activationLayout()} is ROW_MAJOR (NCHW). With exact FP32 math cuDNN's NCHW convolutions
 * are the well-trodden path (NHWC pays off mainly with tensor cores, i.e. TF32/FP16), and row-major keeps
 * reshapes free, gemm operands direct and host copies plain. Inputs in CHANNELS_LAST are accepted everywhere:
 * kernels that care convert them to row-major first (a device transpose), elementwise ones keep the layout.
 *
 * <p>Threads: any thread may call any method; work is ordered on the backend's one stream. Each thread gets its
 * own cuDNN and cuBLAS handles on first use (handles are not thread-safe). Results are device arrays owned by
 * the calling thread's current {@link dev.graft.engine.Scope}.
 */
public final class CudaBackend implements Backend {
    private final CudaInfo info;
    private final CudaContext ctx;
    private final Device device;
    private final CudnnConvolution conv;
    private final BatchNormOps bn;
    private final CudnnPooling pool;
    private final CudnnActivation act;
    private final CudnnSoftmax softmax;
    private final CublasOps blas;
    private final ElementwiseKernels ew;
    private final TransformerKernels transformer;
    private final ReductionKernels reduce;
    private final LossKernels loss;
    private final OptimizerKernels optim;

    private CudaBackend(CudaInfo info, int index, MathMode math) {
        if (index < 0 || index >= info.devices().size()) {
            throw new DeviceException("cuda:" + index + " does not exist: " + info.devices().size() + " device(s) found");
        }
        CudaInfo.DeviceInfo d = info.devices().get(index);
        if (d.computeCapability() < CudaProbe.MIN_COMPUTE_CAPABILITY) {
            throw new DeviceException(d + " is below compute capability 7.5, the minimum of CUDA 13");
        }
        this.info = info;
        this.device = Device.cuda(index);
        this.ctx = new CudaContext(d, math);
        this.conv = new CudnnConvolution(ctx);
        this.pool = new CudnnPooling(ctx);
        this.act = new CudnnActivation(ctx);
        this.softmax = new CudnnSoftmax(ctx);
        this.blas = new CublasOps(ctx);
        this.bn = new BatchNormOps(ctx, blas);
        this.ew = new ElementwiseKernels(ctx.kernels);
        this.transformer = new TransformerKernels(ctx);
        this.reduce = new ReductionKernels(ctx);
        this.loss = new LossKernels(ctx);
        this.optim = new OptimizerKernels(ctx.kernels);
    }

    /** A backend on device {@code index} (after a successful probe) with the given math mode. */
    static CudaBackend open(CudaInfo info, int index, MathMode math) {
        return new CudaBackend(info, index, math);
    }

    // ---- introspection (tests, doctor, benchmarks) ------------------------------------------------------------

    /** The caching allocator's counters. */
    public AllocatorStats memoryStats() {
        return ctx.allocator.stats();
    }

    /** Returns cached device memory to the driver. */
    public void emptyCache() {
        ctx.allocator.emptyCache();
    }

    public void resetPeakMemory() {
        ctx.allocator.resetPeak();
    }

    /** Bytes of the shared cuDNN workspace (it only grows). */
    public long workspaceBytes() {
        return ctx.workspace.bytes();
    }

    /** Number of cached convolution algorithm decisions. */
    public int cachedConvolutionAlgorithms() {
        return conv.choices().size();
    }

    public MathMode mathMode() {
        return ctx.math;
    }

    /** Waits until all work enqueued on this backend's stream is done (benchmarks; reads already wait). */
    public void synchronize() {
        ctx.synchronize();
    }

    @Override
    public Device device() {
        return device;
    }

    @Override
    public String description() {
        return ctx.device + ": cuDNN " + CudaInfo.cudnnVersion(info.cudnnVersion()) + " (legacy API), cuBLAS " + info.cublasVersion()
                + ", NVRTC " + info.nvrtcVersion() + " kernels; CUDA driver API " + CudaInfo.cudaVersion(info.driverVersion())
                + ", runtime " + CudaInfo.cudaVersion(info.runtimeVersion()) + "; F32, NCHW; math " + ctx.math;
    }

    @Override
    public boolean supports(DType dtype) {
        return dtype == DType.F32;
    }

    @Override
    public Layout activationLayout() {
        return Layout.ROW_MAJOR;
    }

    // ---- memory -------------------------------------------------------------------------------------------

    @Override
    public NDArray empty(DType dtype, Shape shape, Layout layout) {
        if (dtype != DType.F32) {
            throw new DeviceException("the cuda backend computes in F32 only, not " + dtype + "; use the reference device for F64");
        }
        return new NDArray(this, DeviceBuffer.allocate(ctx.allocator, dtype, shape.numel()), shape, layout);
    }

    private NDArray out(Shape shape) {
        return empty(DType.F32, shape, Layout.ROW_MAJOR);
    }

    @Override
    public NDArray fromHost(float[] data, Shape shape) {
        NDArray a = out(shape);
        upload(a, data);
        return a;
    }

    @Override
    public NDArray fromHost(double[] data, Shape shape, DType dtype) {
        if (dtype != DType.F32) {
            throw new DeviceException("the cuda backend computes in F32 only, not " + dtype + "; use the reference device for F64");
        }
        float[] f = new float[data.length];
        for (int i = 0; i < f.length; i++) {
            f[i] = (float) data[i];
        }
        return fromHost(f, shape);
    }

    @Override
    public void copyFromHost(NDArray dst, float[] data) {
        if (dst.isRowMajorOrder()) {
            upload(dst, data);
        } else {
            // Row-major host data into a channels-last array: upload, then transpose on the device.
            DeviceAllocator.Block tmp = ctx.scratch(4L * data.length);
            try (FloatPointer host = new FloatPointer(data)) {
                ctx.upload(tmp.address(), host, 4L * data.length);
                ew.transpose(true, addr(dst), tmp.address(), dst.shape());
            } finally {
                ctx.allocator.release(tmp);
            }
        }
        dst.buffer().bumpVersion();
    }

    private void upload(NDArray a, float[] data) {
        if (data.length == 0) {
            return;
        }
        try (FloatPointer host = new FloatPointer(data)) {
            ctx.upload(addr(a), host, 4L * data.length);
        }
    }

    @Override
    public float[] toHostFloats(NDArray a) {
        int n = a.numel();
        float[] out = new float[n];
        if (n == 0) {
            return out;
        }
        long bytes = 4L * n;
        try (FloatPointer host = new FloatPointer(n)) {
            if (a.isRowMajorOrder()) {
                ctx.download(host, addr(a), bytes);
            } else {
                DeviceAllocator.Block tmp = ctx.scratch(bytes);
                try {
                    ew.transpose(false, tmp.address(), addr(a), a.shape());
                    ctx.download(host, tmp.address(), bytes);
                } finally {
                    ctx.allocator.release(tmp);
                }
            }
            host.get(out);
        }
        return out;
    }

    @Override
    public double[] toHostDoubles(NDArray a) {
        float[] f = toHostFloats(a);
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }

    @Override
    public NDArray toLayout(NDArray a, Layout layout) {
        if (a.layout() == layout) {
            return a;
        }
        NDArray out = empty(DType.F32, a.shape(), layout);
        copyInto(out, a);
        return out;
    }

    @Override
    public void copyInto(NDArray dst, NDArray src) {
        if (samePhysicalOrder(dst, src)) {
            ctx.copy(addr(dst), addr(src), 4L * src.numel());
        } else {
            // Exactly one of the two is channels-last with a real permutation.
            ew.transpose(dst.layout() == Layout.CHANNELS_LAST, addr(dst), addr(src), src.shape());
        }
        dst.buffer().bumpVersion();
    }

    @Override
    public void fill(NDArray a, double value) {
        if (value == 0 && 1 / value > 0) {
            ctx.zero(addr(a), 4L * a.numel());
        } else {
            ew.fill(addr(a), (float) value, a.numel());
        }
        a.buffer().bumpVersion();
    }

    // ---- elementwise and reductions ---------------------------------------------------------------------------

    @Override
    public NDArray add(NDArray a, NDArray b) {
        return binary(false, a, b);
    }

    @Override
    public NDArray mul(NDArray a, NDArray b) {
        return binary(true, a, b);
    }

    private NDArray binary(boolean multiply, NDArray a, NDArray b) {
        NDArray ar = rowMajor(a);
        NDArray br = rowMajor(b);
        NDArray out = out(a.shape());
        if (out.numel() > 0) {
            ew.binary(multiply, addr(out), addr(ar), a.shape(), addr(br), b.shape());
        }
        return out;
    }

    @Override
    public NDArray scale(NDArray a, double alpha) {
        NDArray out = empty(DType.F32, a.shape(), a.layout());
        if (out.numel() > 0) {
            ew.scale(addr(out), addr(a), (float) alpha, a.numel());
        }
        return out;
    }

    @Override
    public void scaleInPlace(NDArray a, double alpha) {
        if (a.numel() > 0) {
            blas.scal(a.numel(), (float) alpha, addr(a));
        }
        a.buffer().bumpVersion();
    }

    @Override
    public void axpyInPlace(NDArray y, double alpha, NDArray x) {
        NDArray xs = inOrderOf(x, y);
        if (y.numel() > 0) {
            blas.axpy(y.numel(), (float) alpha, addr(xs), addr(y));
        }
        y.buffer().bumpVersion();
    }

    @Override
    public NDArray relu(NDArray x) {
        NDArray out = empty(DType.F32, x.shape(), x.layout());
        if (x.numel() > 0) {
            act.reluForward(addr(x), addr(out), x.numel());
        }
        return out;
    }

    @Override
    public NDArray reluBackward(NDArray dy, NDArray y) {
        NDArray g = inOrderOf(dy, y);
        NDArray out = empty(DType.F32, y.shape(), y.layout());
        if (y.numel() > 0) {
            // Not cuDNN's activation backward: torch passes the gradient where y is NaN (see CudnnActivation).
            ew.reluBackward(addr(out), addr(g), addr(y), y.numel());
        }
        return out;
    }

    @Override
    public NDArray sumTo(NDArray x, Shape target) {
        NDArray xr = rowMajor(x);
        NDArray out = out(target);
        if (target.numel() > 0) {
            if (x.numel() == 0) {
                ctx.zero(addr(out), 4L * target.numel());
            } else {
                reduce.sumTo(addr(out), addr(xr), x.shape(), target);
            }
        }
        return out;
    }

    @Override
    public double sumOfSquares(NDArray x) {
        return reduce.sumOfSquares(addr(x), x.numel());
    }

    // ---- convolution ------------------------------------------------------------------------------------------

    @Override
    public NDArray conv2d(NDArray x, NDArray w, NDArray bias, Conv2dSpec spec) {
        NDArray xr = rowMajor(x);
        NDArray wr = rowMajor(w);
        NDArray y = out(CudnnConvolution.outputShape(x.shape(), w.shape(), spec));
        conv.forward(addr(xr), x.shape(), addr(wr), w.shape(), bias == null ? 0 : addr(bias), addr(y), spec);
        return y;
    }

    @Override
    public NDArray conv2dBackwardData(NDArray dy, NDArray w, Shape xShape, Conv2dSpec spec) {
        NDArray dyr = rowMajor(dy);
        NDArray wr = rowMajor(w);
        NDArray dx = out(xShape);
        conv.backwardData(addr(dyr), addr(wr), w.shape(), addr(dx), xShape, spec);
        return dx;
    }

    @Override
    public NDArray conv2dBackwardWeights(NDArray dy, NDArray x, Shape wShape, Conv2dSpec spec) {
        NDArray dyr = rowMajor(dy);
        NDArray xr = rowMajor(x);
        NDArray dw = out(wShape);
        conv.backwardFilter(addr(dyr), addr(xr), x.shape(), addr(dw), wShape, spec);
        return dw;
    }

    // ---- batch norm -------------------------------------------------------------------------------------------

    @Override
    public BatchNormStats batchNormTraining(NDArray x, NDArray gamma, NDArray beta, double eps) {
        int c = x.shape().dim(1);
        NDArray y = out(x.shape());
        NDArray mean = out(Shape.of(c));
        NDArray variance = out(Shape.of(c));
        bn.training(rowMajor(x), gamma, beta, eps, y, mean, variance);
        return new BatchNormStats(y, mean, variance);
    }

    @Override
    public NDArray batchNormInference(NDArray x, NDArray gamma, NDArray beta, NDArray mean, NDArray variance, double eps) {
        NDArray y = out(x.shape());
        bn.inference(rowMajor(x), gamma, beta, mean, variance, eps, y);
        return y;
    }

    @Override
    public BatchNormGrads batchNormBackward(NDArray dy, NDArray x, NDArray gamma, NDArray mean, NDArray variance,
                                            double eps, boolean batchStatistics, boolean needInput, boolean needParams) {
        Shape c = Shape.of(x.shape().dim(1));
        NDArray dx = needInput ? out(x.shape()) : null;
        NDArray dgamma = needParams ? out(c) : null;
        NDArray dbeta = needParams ? out(c) : null;
        bn.backward(rowMajor(dy), rowMajor(x), gamma, mean, variance, eps, batchStatistics, dx, dgamma, dbeta);
        return new BatchNormGrads(dx, dgamma, dbeta);
    }

    // ---- pooling ----------------------------------------------------------------------------------------------

    @Override
    public Pooled maxPool2d(NDArray x, Pool2dSpec spec, boolean training) {
        NDArray xr = rowMajor(x);
        Shape xs = x.shape();
        NDArray y = out(Shape.of(xs.dim(0), xs.dim(1),
                Conv2dSpec.outputSize(xs.dim(2), spec.kernelH(), spec.strideH(), spec.padH(), 1),
                Conv2dSpec.outputSize(xs.dim(3), spec.kernelW(), spec.strideW(), spec.padW(), 1)));
        pool.maxForward(addr(xr), xs, addr(y), y.shape(), spec);
        // No workspace: cuDNN's backward recomputes the argmax from x and y.
        return new Pooled(y, null);
    }

    @Override
    public NDArray maxPool2dBackward(NDArray dy, NDArray x, Pooled forward, Pool2dSpec spec) {
        NDArray xr = rowMajor(x);
        NDArray dyr = rowMajor(dy);
        NDArray y = rowMajor(forward.output());
        NDArray dx = out(x.shape());
        pool.maxBackward(addr(dyr), addr(y), y.shape(), addr(xr), x.shape(), addr(dx), spec);
        return dx;
    }

    // ---- transformer ops, part 1 (issue 11): layer norm, GELU, roll, zero padding ---------------------------

    @Override
    public BatchNormStats layerNorm(NDArray x, NDArray weight, NDArray bias, double eps) {
        int c = x.shape().dim(x.shape().rank() - 1);
        int rows = x.numel() / c;
        NDArray y = out(x.shape());
        NDArray mean = out(Shape.of(rows));
        NDArray variance = out(Shape.of(rows));
        transformer.layerNorm(addr(y), addr(mean), addr(variance), addr(rowMajor(x)), addr(weight), addr(bias), eps, rows, c);
        return new BatchNormStats(y, mean, variance);
    }

    @Override
    public BatchNormGrads layerNormBackward(NDArray dy, NDArray x, NDArray weight, NDArray mean, NDArray variance,
                                            double eps, boolean needInput, boolean needParams) {
        int c = x.shape().dim(x.shape().rank() - 1);
        int rows = x.numel() / c;
        long dyr = addr(rowMajor(dy));
        long xr = addr(rowMajor(x));
        NDArray dx = null;
        NDArray dw = null;
        NDArray db = null;
        if (needInput) {
            dx = out(x.shape());
            transformer.layerNormBackwardInput(addr(dx), dyr, xr, addr(weight), addr(mean), addr(variance), eps, rows, c);
        }
        if (needParams) {
            dw = out(weight.shape());
            db = out(weight.shape());
            transformer.layerNormBackwardParams(addr(dw), addr(db), dyr, xr, addr(mean), addr(variance), eps, rows, c);
        }
        return new BatchNormGrads(dx, dw, db);
    }

    @Override
    public NDArray gelu(NDArray x, boolean tanh) {
        NDArray y = empty(DType.F32, x.shape(), x.layout());
        transformer.gelu(addr(y), addr(x), tanh, x.numel());
        return y;
    }

    @Override
    public NDArray geluBackward(NDArray dy, NDArray x, boolean tanh) {
        NDArray dx = empty(DType.F32, x.shape(), x.layout());
        transformer.geluBackward(addr(dx), addr(inOrderOf(dy, x)), addr(x), tanh, x.numel());
        return dx;
    }

    @Override
    public NDArray roll(NDArray x, int[] shifts, int[] axes) {
        NDArray cur = rowMajor(x);
        Shape s = x.shape();
        for (int i = 0; i < axes.length; i++) {
            if (shifts[i] == 0) {
                continue;
            }
            long n = s.dim(axes[i]);
            long inner = innerSize(s, axes[i]);
            NDArray next = out(s);
            transformer.roll(addr(next), addr(cur), s.numel() / (n * inner), n, inner, shifts[i]);
            cur = next;
        }
        return cur == x ? copy(x) : cur;
    }

    @Override
    public NDArray pad(NDArray x, int[] before, int[] after) {
        NDArray cur = rowMajor(x);
        Shape s = x.shape();
        for (int d = 0; d < s.rank(); d++) {
            if (before[d] == 0 && after[d] == 0) {
                continue;
            }
            long n = s.dim(d);
            long inner = innerSize(s, d);
            int[] dims = s.dims();
            dims[d] = before[d] + dims[d] + after[d];
            NDArray next = out(Shape.of(dims));
            transformer.pad(addr(next), addr(cur), s.numel() / (n * inner), n, inner, before[d], after[d]);
            cur = next;
            s = next.shape();
        }
        return cur == x ? copy(x) : cur;
    }

    @Override
    public NDArray crop(NDArray x, int[] before, Shape outShape) {
        NDArray cur = rowMajor(x);
        Shape s = x.shape();
        for (int d = 0; d < s.rank(); d++) {
            if (s.dim(d) == outShape.dim(d)) {
                continue;
            }
            long m = s.dim(d);
            long inner = innerSize(s, d);
            int[] dims = s.dims();
            dims[d] = outShape.dim(d);
            NDArray next = out(Shape.of(dims));
            transformer.crop(addr(next), addr(cur), s.numel() / (m * inner), m, inner, before[d], dims[d]);
            cur = next;
            s = next.shape();
        }
        return cur == x ? copy(x) : cur;
    }

    private static long innerSize(Shape s, int axis) {
        long p = 1;
        for (int d = axis + 1; d < s.rank(); d++) {
            p *= s.dim(d);
        }
        return p;
    }

    @Override
    public NDArray avgPool2d(NDArray x, AvgPool2dSpec spec) {
        NDArray xr = rowMajor(x);
        Shape xs = x.shape();
        NDArray y = out(Shape.of(xs.dim(0), xs.dim(1),
                Conv2dSpec.outputSize(xs.dim(2), spec.kernelH(), spec.strideH(), spec.padH(), 1),
                Conv2dSpec.outputSize(xs.dim(3), spec.kernelW(), spec.strideW(), spec.padW(), 1)));
        pool.avgForward(addr(xr), xs, addr(y), y.shape(), spec);
        return y;
    }

    @Override
    public NDArray avgPool2dBackward(NDArray dy, Shape xShape, AvgPool2dSpec spec) {
        NDArray dyr = rowMajor(dy);
        NDArray dx = out(xShape);
        pool.avgBackward(addr(dyr), dy.shape(), addr(dx), xShape, spec);
        return dx;
    }

    @Override
    public NDArray globalAvgPool(NDArray x) {
        NDArray xr = rowMajor(x);
        Shape xs = x.shape();
        NDArray y = out(Shape.of(xs.dim(0), xs.dim(1), 1, 1));
        pool.globalAverage(addr(xr), xs, addr(y));
        return y;
    }

    @Override
    public NDArray globalAvgPoolBackward(NDArray dy, Shape xShape) {
        NDArray dx = out(xShape);
        if (xShape.numel() > 0) {
            ew.avgPoolBackward(addr(dx), addr(dy), (long) xShape.dim(2) * xShape.dim(3), xShape.numel());
        }
        return dx;
    }

    // ---- channel concatenation ------------------------------------------------------------------------------

    /** NCHW: image n's C_i x H x W floats are one run, copied to channel offset c0 of the output's image n. */
    @Override
    public NDArray concatChannels(NDArray[] xs) {
        Shape s = xs[0].shape();
        long plane = 4L * s.dim(2) * s.dim(3);
        int total = 0;
        for (NDArray x : xs) {
            total += x.shape().dim(1);
        }
        NDArray y = out(Shape.of(s.dim(0), total, s.dim(2), s.dim(3)));
        long c0 = 0;
        for (NDArray x : xs) {
            long c = x.shape().dim(1);
            ctx.copy2d(addr(y) + c0 * plane, total * plane, addr(rowMajor(x)), c * plane, c * plane, s.dim(0));
            c0 += c;
        }
        return y;
    }

    @Override
    public NDArray[] splitChannels(NDArray x, int[] channels) {
        Shape s = x.shape();
        long plane = 4L * s.dim(2) * s.dim(3);
        long xr = addr(rowMajor(x));
        NDArray[] parts = new NDArray[channels.length];
        long c0 = 0;
        for (int k = 0; k < channels.length; k++) {
            long c = channels[k];
            parts[k] = out(Shape.of(s.dim(0), channels[k], s.dim(2), s.dim(3)));
            ctx.copy2d(addr(parts[k]), c * plane, xr + c0 * plane, s.dim(1) * plane, c * plane, s.dim(0));
            c0 += c;
        }
        return parts;
    }

    // ---- matrix product ---------------------------------------------------------------------------------------

    @Override
    public NDArray gemm(NDArray a, NDArray b, boolean transA, boolean transB) {
        int m = transA ? a.shape().dim(1) : a.shape().dim(0);
        int k = transA ? a.shape().dim(0) : a.shape().dim(1);
        int n = transB ? b.shape().dim(0) : b.shape().dim(1);
        NDArray c = out(Shape.of(m, n));
        if (m == 0 || n == 0) {
            return c;
        }
        if (k == 0) {
            ctx.zero(addr(c), 4L * m * n);
            return c;
        }
        blas.gemm(addr(a), a.shape().dim(1), transA, addr(b), b.shape().dim(1), transB, addr(c), m, n, k);
        return c;
    }

    // ---- classification loss ----------------------------------------------------------------------------------

    @Override
    public NDArray logSoftmax(NDArray x) {
        NDArray y = out(x.shape());
        if (x.numel() > 0) {
            softmax.logForward(addr(x), addr(y), x.shape().dim(0), x.shape().dim(1));
        }
        return y;
    }

    @Override
    public NDArray logSoftmaxBackward(NDArray dy, NDArray y) {
        NDArray dx = out(y.shape());
        if (y.numel() > 0) {
            softmax.logBackward(addr(dy), addr(y), addr(dx), y.shape().dim(0), y.shape().dim(1));
        }
        return dx;
    }

    @Override
    public NDArray nllLoss(NDArray logProbs, int[] labels, float[] classWeights, double labelSmoothing) {
        NDArray loss = out(Shape.scalar());
        this.loss.forward(loss, logProbs, labels, classWeights, labelSmoothing);
        return loss;
    }

    @Override
    public NDArray nllLossBackward(NDArray dLoss, NDArray logProbs, int[] labels, float[] classWeights, double labelSmoothing) {
        NDArray g = out(logProbs.shape());
        loss.backward(g, dLoss, labels, classWeights, labelSmoothing);
        return g;
    }

    // ---- optimizers -------------------------------------------------------------------------------------------

    @Override
    public void sgdUpdate(NDArray param, NDArray grad, NDArray momentumBuffer, SgdSpec spec, boolean firstStep) {
        NDArray g = inOrderOf(grad, param);
        NDArray buf = momentumBuffer == null ? null : inOrderOf(momentumBuffer, param);
        optim.sgd(addr(param), addr(g), buf == null ? 0 : addr(buf), param.numel(), spec, firstStep);
        writeBack(momentumBuffer, buf);
        param.buffer().bumpVersion();
        if (momentumBuffer != null) {
            momentumBuffer.buffer().bumpVersion();
        }
    }

    @Override
    public void adamwUpdate(NDArray param, NDArray grad, NDArray m, NDArray v, AdamWSpec spec, long step) {
        NDArray g = inOrderOf(grad, param);
        NDArray mm = inOrderOf(m, param);
        NDArray vv = inOrderOf(v, param);
        optim.adamw(addr(param), addr(g), addr(mm), addr(vv), param.numel(), spec, step);
        writeBack(m, mm);
        writeBack(v, vv);
        param.buffer().bumpVersion();
        m.buffer().bumpVersion();
        v.buffer().bumpVersion();
    }

    /** If optimizer state had to be converted to the parameter's layout, copies the updated values back. */
    // ---- transformer ops: matrix products, layout, attention (issue 11) ------------------------------------
    // Batched matmul through cublasSgemmStridedBatched, softmax through cuDNN (ACCURATE), concat and narrow as 2-D
    // copies, permute through the broadcast kernel; index_select stays on the host default (Backend).

    @Override
    public NDArray batchedGemm(NDArray a, NDArray b, boolean transA, boolean transB) {
        int batch = a.shape().dim(0);
        int m = transA ? a.shape().dim(2) : a.shape().dim(1);
        int k = transA ? a.shape().dim(1) : a.shape().dim(2);
        int n = transB ? b.shape().dim(1) : b.shape().dim(2);
        NDArray c = out(Shape.of(batch, m, n));
        if (c.numel() == 0) {
            return c;
        }
        if (k == 0) {
            ctx.zero(addr(c), 4L * c.numel());
            return c;
        }
        blas.gemmStridedBatched(addr(a), a.shape().dim(2), (long) m * k, transA, addr(b), b.shape().dim(2), (long) k * n, transB,
                addr(c), m, n, k, batch);
        return c;
    }

    @Override
    public NDArray permute(NDArray x, int[] perm) {
        int[] dims = new int[perm.length];
        for (int i = 0; i < perm.length; i++) {
            dims[i] = x.shape().dim(perm[i]);
        }
        NDArray y = out(Shape.of(dims));
        if (y.numel() == 0) {
            return y;
        }
        NDArray ones = out(y.shape());
        fill(ones, 1);
        ew.permute(addr(y), addr(ones), addr(x), x.shape(), perm);
        ones.buffer().close();
        return y;
    }

    @Override
    public NDArray concat(NDArray[] xs, int axis) {
        Shape s = xs[0].shape();
        long outer = dev.graft.engine.backend.TransformerKernels.outer(s, axis);
        long inner = 4 * dev.graft.engine.backend.TransformerKernels.inner(s, axis);
        int total = 0;
        for (NDArray x : xs) {
            total += x.shape().dim(axis);
        }
        NDArray y = out(dev.graft.engine.backend.TransformerKernels.withDim(s, axis, total));
        long a0 = 0;
        for (NDArray x : xs) {
            long run = x.shape().dim(axis) * inner;
            ctx.copy2d(addr(y) + a0 * inner, total * inner, addr(x), run, run, outer);
            a0 += x.shape().dim(axis);
        }
        return y;
    }

    @Override
    public NDArray narrow(NDArray x, int axis, int start, int length) {
        Shape s = x.shape();
        long outer = dev.graft.engine.backend.TransformerKernels.outer(s, axis);
        long inner = 4 * dev.graft.engine.backend.TransformerKernels.inner(s, axis);
        NDArray y = out(dev.graft.engine.backend.TransformerKernels.withDim(s, axis, length));
        long run = length * inner;
        ctx.copy2d(addr(y), run, addr(x) + start * inner, s.dim(axis) * inner, run, outer);
        return y;
    }

    @Override
    public NDArray softmax(NDArray x) {
        NDArray y = out(x.shape());
        if (x.numel() > 0) {
            int c = x.shape().dim(-1);
            softmax.forward(addr(x), addr(y), x.numel() / c, c);
        }
        return y;
    }

    @Override
    public NDArray softmaxBackward(NDArray dy, NDArray y) {
        NDArray dx = out(dy.shape());
        if (dy.numel() > 0) {
            int c = dy.shape().dim(-1);
            softmax.backward(addr(dy), addr(y), addr(dx), dy.numel() / c, c);
        }
        return dx;
    }

    private void writeBack(NDArray state, NDArray converted) {
        if (state != null && converted != state) {
            copyInto(state, converted);
        }
    }

    @Override
    public void close() {
        ctx.close();
    }

    @Override
    public String toString() {
        return "CudaBackend[" + description() + "]";
    }

    // ---- helpers ----------------------------------------------------------------------------------------------

    /** {@code a} in physical row-major (NCHW) order: itself, or a transposed copy in the current scope. */
    private NDArray rowMajor(NDArray a) {
        return a.isRowMajorOrder() ? a : toLayout(a, Layout.ROW_MAJOR);
    }

    /** {@code a} with its elements in the same physical order as {@code like}. */
    private NDArray inOrderOf(NDArray a, NDArray like) {
        return samePhysicalOrder(a, like) ? a : toLayout(a, like.layout());
    }

    private static boolean samePhysicalOrder(NDArray a, NDArray b) {
        return a.layout() == b.layout() || (a.isRowMajorOrder() && b.isRowMajorOrder());
    }
}
