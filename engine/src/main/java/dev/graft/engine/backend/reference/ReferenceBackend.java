package dev.graft.engine.backend.reference;

import dev.graft.engine.DType;
import dev.graft.engine.Device;
import dev.graft.engine.Layout;
import dev.graft.engine.DeviceException;
import dev.graft.engine.NDArray;
import dev.graft.engine.Precision;
import dev.graft.engine.Shape;
import dev.graft.engine.backend.AdamWSpec;
import dev.graft.engine.backend.AvgPool2dSpec;
import dev.graft.engine.backend.Backend;
import dev.graft.engine.backend.BatchNormGrads;
import dev.graft.engine.backend.BatchNormStats;
import dev.graft.engine.backend.Bf16;
import dev.graft.engine.backend.Conv2dSpec;
import dev.graft.engine.backend.Pool2dSpec;
import dev.graft.engine.backend.Pooled;
import dev.graft.engine.backend.SgdSpec;

/**
 * The oracle: plain, obviously correct Java loops that accumulate in double and round once on store. Every
 * other backend is tested against this one. Kernels read inputs as logical row-major doubles and write
 * row-major outputs.
 *
 * <p>Under {@link Precision#BF16} it is the oracle of bf16 mixed precision: convolution forward, backward-data and
 * backward-weights, {@link #gemm} and {@link #batchedGemm} round both operands to bfloat16 ({@link Bf16#round}, nearest-even, as
 * oneDNN does) and still sum the exact products in double; every other kernel is unchanged. A fast backend's bf16
 * result then differs from this one only by its F32 accumulation.
 */
public final class ReferenceBackend implements Backend {
    private volatile Precision precision = Precision.FP32;

    @Override
    public Precision precision() {
        return precision;
    }

    @Override
    public void setPrecision(Precision p) {
        if (p == Precision.INT8) {
            throw new DeviceException("--precision int8 is for inference only; train with --precision fp32 or bf16");
        }
        precision = p;
    }

    /** {@code a}'s values as an operand of a product: rounded to bfloat16 under BF16 precision. */
    private double[] operand(NDArray a) {
        return precision() == Precision.BF16 ? Bf16.round(read(a)) : read(a);
    }

    /** Inference kernels compute in fp32 whatever the training precision ({@link Backend#precision}). */
    @Override
    public NDArray conv2dInference(NDArray x, NDArray w, NDArray bias, NDArray residual, boolean relu, Conv2dSpec spec,
                                   NDArray out) {
        Precision training = precision();
        precision = Precision.FP32;
        try {
            return Backend.super.conv2dInference(x, w, bias, residual, relu, spec, out);
        } finally {
            precision = training;
        }
    }

    @Override
    public NDArray batchedGemm(NDArray a, NDArray b, boolean transA, boolean transB) {
        if (precision() != Precision.BF16) {
            return Backend.super.batchedGemm(a, b, transA, transB);
        }
        NDArray ar = out(a.dtype(), a.shape(), operand(a));
        NDArray br = out(b.dtype(), b.shape(), operand(b));
        NDArray c = Backend.super.batchedGemm(ar, br, transA, transB);
        ar.buffer().close();
        br.buffer().close();
        return c;
    }

    @Override
    public Device device() {
        return Device.REFERENCE;
    }

    @Override
    public String description() {
        return "reference: plain Java loops (F32, F64), single-threaded";
    }

    @Override
    public boolean supports(DType dtype) {
        return dtype == DType.F32 || dtype == DType.F64;
    }

    @Override
    public Layout activationLayout() {
        return Layout.ROW_MAJOR;
    }

    // ---- memory -------------------------------------------------------------------------------------------

    @Override
    public NDArray empty(DType dtype, Shape shape, Layout layout) {
        return new NDArray(this, new HeapBuffer(dtype, shape.numel()), shape, layout);
    }

    @Override
    public NDArray fromHost(float[] data, Shape shape) {
        NDArray a = empty(DType.F32, shape, Layout.ROW_MAJOR);
        System.arraycopy(data, 0, heap(a).floats(), 0, data.length);
        return a;
    }

    @Override
    public NDArray fromHost(double[] data, Shape shape, DType dtype) {
        return out(dtype, shape, data);
    }

    @Override
    public void copyFromHost(NDArray dst, float[] data) {
        double[] v = new double[data.length];
        for (int i = 0; i < v.length; i++) {
            v[i] = data[i];
        }
        store(dst, v);
    }

    @Override
    public float[] toHostFloats(NDArray a) {
        double[] d = read(a);
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) {
            f[i] = (float) d[i];
        }
        return f;
    }

    @Override
    public double[] toHostDoubles(NDArray a) {
        return read(a);
    }

    @Override
    public NDArray toLayout(NDArray a, Layout layout) {
        if (a.layout() == layout) {
            return a;
        }
        NDArray out = empty(a.dtype(), a.shape(), layout);
        store(out, read(a));
        return out;
    }

    @Override
    public void copyInto(NDArray dst, NDArray src) {
        store(dst, read(src));
    }

    @Override
    public void fill(NDArray a, double value) {
        HeapBuffer h = heap(a);
        h.checkOpen();
        for (int i = 0; i < a.numel(); i++) {
            h.set(i, value);
        }
        h.bumpVersion();
    }

    // ---- elementwise --------------------------------------------------------------------------------------

    @Override
    public NDArray add(NDArray a, NDArray b) {
        double[] x = read(a);
        double[] y = read(b);
        int[] map = Broadcast.indexMap(b.shape(), a.shape());
        double[] r = new double[x.length];
        for (int i = 0; i < r.length; i++) {
            r[i] = x[i] + y[map[i]];
        }
        return out(a.dtype(), a.shape(), r);
    }

    @Override
    public NDArray mul(NDArray a, NDArray b) {
        double[] x = read(a);
        double[] y = read(b);
        int[] map = Broadcast.indexMap(b.shape(), a.shape());
        double[] r = new double[x.length];
        for (int i = 0; i < r.length; i++) {
            r[i] = x[i] * y[map[i]];
        }
        return out(a.dtype(), a.shape(), r);
    }

    @Override
    public NDArray scale(NDArray a, double alpha) {
        double[] x = read(a);
        for (int i = 0; i < x.length; i++) {
            x[i] *= alpha;
        }
        return out(a.dtype(), a.shape(), x);
    }

    @Override
    public void scaleInPlace(NDArray a, double alpha) {
        double[] x = read(a);
        for (int i = 0; i < x.length; i++) {
            x[i] *= alpha;
        }
        store(a, x);
    }

    @Override
    public void axpyInPlace(NDArray y, double alpha, NDArray x) {
        double[] yv = read(y);
        double[] xv = read(x);
        for (int i = 0; i < yv.length; i++) {
            yv[i] += alpha * xv[i];
        }
        store(y, yv);
    }

    @Override
    public NDArray relu(NDArray x) {
        double[] v = read(x);
        for (int i = 0; i < v.length; i++) {
            // NaN stays NaN, as torch.relu.
            v[i] = v[i] > 0 || Double.isNaN(v[i]) ? v[i] : 0;
        }
        return out(x.dtype(), x.shape(), v);
    }

    @Override
    public NDArray reluBackward(NDArray dy, NDArray y) {
        double[] g = read(dy);
        double[] out = read(y);
        for (int i = 0; i < g.length; i++) {
            // torch's threshold_backward: 0 where y <= 0, else dy, so the gradient passes where y is NaN.
            g[i] = out[i] <= 0 ? 0 : g[i];
        }
        return out(dy.dtype(), dy.shape(), g);
    }

    @Override
    public NDArray sumTo(NDArray x, Shape target) {
        double[] v = read(x);
        int[] map = Broadcast.indexMap(target, x.shape());
        double[] r = new double[target.numel()];
        for (int i = 0; i < v.length; i++) {
            r[map[i]] += v[i];
        }
        return out(x.dtype(), target, r);
    }

    @Override
    public double sumOfSquares(NDArray x) {
        double s = 0;
        for (double v : read(x)) {
            s += v * v;
        }
        return s;
    }

    // ---- dispatch to the kernel classes -------------------------------------------------------------------

    @Override
    public NDArray conv2d(NDArray x, NDArray w, NDArray bias, Conv2dSpec spec) {
        ConvShape s = ConvShape.of(x.shape(), w.shape(), spec);
        return out(x.dtype(), s.outputShape(), ReferenceConvolution.forward(s, operand(x), operand(w), bias == null ? null : read(bias)));
    }

    // ---- lower-precision inference, emulated: the oracles of the cpu kernels ------------------------------------

    @Override
    public boolean supportsInference(Precision precision) {
        return true;
    }

    @Override
    public String precisionSupport(Precision precision) {
        return precision + ": emulated in plain Java (" + switch (precision) {
            case FP32 -> "double sums rounded once";
            case BF16 -> "operands rounded to bfloat16, products summed in double";
            case INT8 -> "quantized in Java, integer sums exact in double, dequantized in double";
        } + "); slow, for checking the cpu kernels";
    }

    /** x and w rounded to bfloat16 (to nearest, ties to even), products summed in double, the epilogue in double. */
    @Override
    public NDArray conv2dInferenceBf16(NDArray x, NDArray w, NDArray bias, NDArray residual, boolean relu, Conv2dSpec spec,
                                       NDArray out) {
        ConvShape s = ConvShape.of(x.shape(), w.shape(), spec);
        double[] y = ReferenceConvolution.forward(s, bf16(read(x)), bf16(read(w)), bias == null ? null : read(bias));
        return epilogue(x.dtype(), s.outputShape(), y, residual, relu, out);
    }

    /**
     * {@code qx = clamp(rint(x / xScale))} in double, the integer convolution exact in double (|sum| < 2^53 for any
     * layer Graft builds), then {@code acc * xScale * wScales[k] + bias[k] (+ residual, relu)}; an image with a non-finite value gets NaN.
     */
    @Override
    public NDArray conv2dInferenceInt8(NDArray x, float xScale, boolean xUnsigned, NDArray wq, float[] wScales, NDArray bias,
                                       NDArray residual, boolean relu, Conv2dSpec spec, NDArray out) {
        ConvShape s = ConvShape.of(x.shape(), wq.shape(), spec);
        double[] xv = read(x);
        int n = x.shape().dim(0);
        int per = xv.length / n;
        boolean[] finite = new boolean[n];
        java.util.Arrays.fill(finite, true);
        double lo = xUnsigned ? 0 : -128;
        double hi = xUnsigned ? 255 : 127;
        for (int i = 0; i < xv.length; i++) {
            finite[i / per] &= Double.isFinite(xv[i]);
            xv[i] = Math.max(lo, Math.min(hi, Math.rint(xv[i] / xScale)));
        }
        double[] acc = ReferenceConvolution.forward(s, xv, read(wq), null);
        int k = wq.shape().dim(0);
        int plane = acc.length / (s.outputShape().dim(0) * k);
        double[] b = bias == null ? new double[k] : read(bias);
        for (int i = 0; i < acc.length; i++) {
            int o = (i / plane) % k;
            acc[i] = finite[i / (plane * k)] ? acc[i] * ((double) xScale * wScales[o]) + b[o] : Double.NaN;
        }
        return epilogue(x.dtype(), s.outputShape(), acc, residual, relu, out);
    }

    private NDArray epilogue(DType dtype, Shape shape, double[] y, NDArray residual, boolean relu, NDArray out) {
        if (residual != null) {
            double[] r = read(residual);
            for (int i = 0; i < y.length; i++) {
                y[i] += r[i];
            }
        }
        if (relu) {
            for (int i = 0; i < y.length; i++) {
                y[i] = Double.isNaN(y[i]) ? y[i] : Math.max(0, y[i]);
            }
        }
        NDArray a = out(dtype, shape, y);
        if (out == null) {
            return a;
        }
        copyInto(out, a);
        a.buffer().close();
        return out;
    }

    private static double[] bf16(double[] v) {
        double[] r = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            float f = (float) v[i];
            int bits = Float.floatToRawIntBits(f);
            if (Float.isNaN(f)) {
                r[i] = f;
                continue;
            }
            bits = (bits + 0x7FFF + ((bits >>> 16) & 1)) & 0xFFFF0000;
            r[i] = Float.intBitsToFloat(bits);
        }
        return r;
    }

    @Override
    public NDArray conv2dBackwardData(NDArray dy, NDArray w, Shape xShape, Conv2dSpec spec) {
        ConvShape s = ConvShape.of(xShape, w.shape(), spec);
        return out(dy.dtype(), xShape, ReferenceConvolution.backwardData(s, operand(dy), operand(w)));
    }

    @Override
    public NDArray conv2dBackwardWeights(NDArray dy, NDArray x, Shape wShape, Conv2dSpec spec) {
        ConvShape s = ConvShape.of(x.shape(), wShape, spec);
        return out(dy.dtype(), wShape, ReferenceConvolution.backwardWeights(s, operand(dy), operand(x)));
    }

    @Override
    public BatchNormStats batchNormTraining(NDArray x, NDArray gamma, NDArray beta, double eps) {
        double[][] r = ReferenceBatchNorm.training(x.shape(), read(x), read(gamma), read(beta), eps);
        Shape c = Shape.of(x.shape().dim(1));
        return new BatchNormStats(out(x.dtype(), x.shape(), r[0]), out(x.dtype(), c, r[1]), out(x.dtype(), c, r[2]));
    }

    @Override
    public NDArray batchNormInference(NDArray x, NDArray gamma, NDArray beta, NDArray mean, NDArray variance, double eps) {
        return out(x.dtype(), x.shape(),
                ReferenceBatchNorm.inference(x.shape(), read(x), read(gamma), read(beta), read(mean), read(variance), eps));
    }

    @Override
    public BatchNormGrads batchNormBackward(NDArray dy, NDArray x, NDArray gamma, NDArray mean, NDArray variance,
                                            double eps, boolean batchStatistics, boolean needInput, boolean needParams) {
        double[][] r = ReferenceBatchNorm.backward(dy.shape(), read(dy), read(x), read(gamma), read(mean), read(variance),
                eps, batchStatistics);
        Shape c = Shape.of(dy.shape().dim(1));
        return new BatchNormGrads(needInput ? out(dy.dtype(), dy.shape(), r[0]) : null,
                needParams ? out(dy.dtype(), c, r[1]) : null, needParams ? out(dy.dtype(), c, r[2]) : null);
    }

    @Override
    public Pooled maxPool2d(NDArray x, Pool2dSpec spec, boolean training) {
        return new Pooled(out(x.dtype(), ReferencePooling.maxOutputShape(x.shape(), spec),
                ReferencePooling.maxForward(x.shape(), read(x), spec)), null);
    }

    @Override
    public NDArray maxPool2dBackward(NDArray dy, NDArray x, Pooled forward, Pool2dSpec spec) {
        return out(dy.dtype(), x.shape(), ReferencePooling.maxBackward(x.shape(), read(x), read(dy), spec));
    }

    // ---- transformer ops, part 1 (issue 11): layer norm, GELU, roll, zero padding ---------------------------

    @Override
    public BatchNormStats layerNorm(NDArray x, NDArray weight, NDArray bias, double eps) {
        int c = x.shape().dim(x.shape().rank() - 1);
        double[][] r = ReferenceTransformerOps.layerNorm(read(x), c, read(weight), read(bias), eps);
        Shape rows = Shape.of(r[1].length);
        return new BatchNormStats(out(x.dtype(), x.shape(), r[0]), out(x.dtype(), rows, r[1]), out(x.dtype(), rows, r[2]));
    }

    @Override
    public BatchNormGrads layerNormBackward(NDArray dy, NDArray x, NDArray weight, NDArray mean, NDArray variance,
                                            double eps, boolean needInput, boolean needParams) {
        int c = x.shape().dim(x.shape().rank() - 1);
        double[][] r = ReferenceTransformerOps.layerNormBackward(read(dy), read(x), c, read(weight), read(mean), read(variance), eps);
        return new BatchNormGrads(needInput ? out(dy.dtype(), x.shape(), r[0]) : null,
                needParams ? out(dy.dtype(), weight.shape(), r[1]) : null,
                needParams ? out(dy.dtype(), weight.shape(), r[2]) : null);
    }

    @Override
    public NDArray gelu(NDArray x, boolean tanh) {
        double[] v = read(x);
        for (int i = 0; i < v.length; i++) {
            v[i] = ReferenceTransformerOps.gelu(v[i], tanh);
        }
        return out(x.dtype(), x.shape(), v);
    }

    @Override
    public NDArray geluBackward(NDArray dy, NDArray x, boolean tanh) {
        double[] v = read(x);
        double[] g = read(dy);
        for (int i = 0; i < v.length; i++) {
            v[i] = g[i] * ReferenceTransformerOps.geluDerivative(v[i], tanh);
        }
        return out(dy.dtype(), x.shape(), v);
    }

    @Override
    public NDArray roll(NDArray x, int[] shifts, int[] axes) {
        double[] v = read(x);
        for (int i = 0; i < axes.length; i++) {
            if (shifts[i] != 0) {
                v = ReferenceTransformerOps.roll(v, x.shape(), axes[i], shifts[i]);
            }
        }
        return out(x.dtype(), x.shape(), v);
    }

    @Override
    public NDArray pad(NDArray x, int[] before, int[] after) {
        double[] v = read(x);
        Shape s = x.shape();
        for (int d = 0; d < s.rank(); d++) {
            if (before[d] != 0 || after[d] != 0) {
                v = ReferenceTransformerOps.pad(v, s, d, before[d], after[d]);
                s = ReferenceTransformerOps.withDim(s, d, before[d] + s.dim(d) + after[d]);
            }
        }
        return out(x.dtype(), s, v);
    }

    @Override
    public NDArray crop(NDArray x, int[] before, Shape outShape) {
        double[] v = read(x);
        Shape s = x.shape();
        for (int d = 0; d < s.rank(); d++) {
            if (s.dim(d) != outShape.dim(d)) {
                v = ReferenceTransformerOps.crop(v, s, d, before[d], outShape.dim(d));
                s = ReferenceTransformerOps.withDim(s, d, outShape.dim(d));
            }
        }
        return out(x.dtype(), s, v);
    }

    @Override
    public NDArray avgPool2d(NDArray x, AvgPool2dSpec spec) {
        return out(x.dtype(), ReferencePooling.avgOutputShape(x.shape(), spec), ReferencePooling.avgForward(x.shape(), read(x), spec));
    }

    @Override
    public NDArray avgPool2dBackward(NDArray dy, Shape xShape, AvgPool2dSpec spec) {
        return out(dy.dtype(), xShape, ReferencePooling.avgBackward(xShape, read(dy), spec));
    }

    @Override
    public NDArray concatChannels(NDArray[] xs) {
        int n = xs[0].shape().dim(0), plane = xs[0].shape().dim(2) * xs[0].shape().dim(3), total = 0;
        for (NDArray x : xs) {
            total += x.shape().dim(1);
        }
        double[] y = new double[n * total * plane];
        int c0 = 0;
        for (NDArray x : xs) {
            double[] v = read(x);
            int c = x.shape().dim(1);
            for (int i = 0; i < n; i++) { // NCHW: image i's channels [c0, c0 + c) are one contiguous run
                System.arraycopy(v, i * c * plane, y, (i * total + c0) * plane, c * plane);
            }
            c0 += c;
        }
        return out(xs[0].dtype(), Shape.of(n, total, xs[0].shape().dim(2), xs[0].shape().dim(3)), y);
    }

    @Override
    public NDArray[] splitChannels(NDArray x, int[] channels) {
        Shape s = x.shape();
        int n = s.dim(0), total = s.dim(1), plane = s.dim(2) * s.dim(3);
        double[] v = read(x);
        NDArray[] parts = new NDArray[channels.length];
        int c0 = 0;
        for (int k = 0; k < channels.length; k++) {
            int c = channels[k];
            double[] p = new double[n * c * plane];
            for (int i = 0; i < n; i++) {
                System.arraycopy(v, (i * total + c0) * plane, p, i * c * plane, c * plane);
            }
            parts[k] = out(x.dtype(), Shape.of(n, c, s.dim(2), s.dim(3)), p);
            c0 += c;
        }
        return parts;
    }

    @Override
    public NDArray globalAvgPool(NDArray x) {
        Shape s = x.shape();
        return out(x.dtype(), Shape.of(s.dim(0), s.dim(1), 1, 1), ReferencePooling.avgForward(s, read(x)));
    }

    @Override
    public NDArray globalAvgPoolBackward(NDArray dy, Shape xShape) {
        return out(dy.dtype(), xShape, ReferencePooling.avgBackward(xShape, read(dy)));
    }

    @Override
    public NDArray gemm(NDArray a, NDArray b, boolean transA, boolean transB) {
        int m = transA ? a.shape().dim(1) : a.shape().dim(0);
        int k = transA ? a.shape().dim(0) : a.shape().dim(1);
        int n = transB ? b.shape().dim(0) : b.shape().dim(1);
        double[] av = operand(a);
        double[] bv = operand(b);
        int lda = a.shape().dim(1);
        int ldb = b.shape().dim(1);
        double[] c = new double[m * n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int p = 0; p < k; p++) {
                    double x = transA ? av[p * lda + i] : av[i * lda + p];
                    double y = transB ? bv[j * ldb + p] : bv[p * ldb + j];
                    s += x * y;
                }
                c[i * n + j] = s;
            }
        }
        return out(a.dtype(), Shape.of(m, n), c);
    }

    @Override
    public NDArray logSoftmax(NDArray x) {
        return out(x.dtype(), x.shape(), ReferenceLoss.logSoftmax(x.shape(), read(x)));
    }

    @Override
    public NDArray logSoftmaxBackward(NDArray dy, NDArray y) {
        return out(dy.dtype(), dy.shape(), ReferenceLoss.logSoftmaxBackward(dy.shape(), read(dy), read(y)));
    }

    @Override
    public NDArray nllLoss(NDArray logProbs, int[] labels, float[] classWeights, double labelSmoothing) {
        double loss = ReferenceLoss.nll(logProbs.shape(), read(logProbs), labels, classWeights, labelSmoothing);
        return out(logProbs.dtype(), Shape.scalar(), new double[] {loss});
    }

    @Override
    public NDArray nllLossBackward(NDArray dLoss, NDArray logProbs, int[] labels, float[] classWeights, double labelSmoothing) {
        double g = read(dLoss)[0];
        return out(logProbs.dtype(), logProbs.shape(),
                ReferenceLoss.nllBackward(logProbs.shape(), g, labels, classWeights, labelSmoothing));
    }

    @Override
    public void sgdUpdate(NDArray param, NDArray grad, NDArray momentumBuffer, SgdSpec spec, boolean firstStep) {
        double[] p = read(param);
        double[] buf = momentumBuffer == null ? null : read(momentumBuffer);
        ReferenceOptimizers.sgd(p, read(grad), buf, spec, firstStep);
        store(param, p);
        if (buf != null) {
            store(momentumBuffer, buf);
        }
    }

    @Override
    public void adamwUpdate(NDArray param, NDArray grad, NDArray m, NDArray v, AdamWSpec spec, long step) {
        double[] p = read(param);
        double[] mv = read(m);
        double[] vv = read(v);
        ReferenceOptimizers.adamw(p, read(grad), mv, vv, spec, step);
        store(param, p);
        store(m, mv);
        store(v, vv);
    }

    @Override
    public void close() {
        // nothing cached
    }

    // ---- helpers ----------------------------------------------------------------------------------------

    private static HeapBuffer heap(NDArray a) {
        return (HeapBuffer) a.buffer();
    }

    /** Values in logical row-major order. */
    static double[] read(NDArray a) {
        double[] v = heap(a).toDoubles();
        return a.layout() == Layout.CHANNELS_LAST ? Broadcast.fromChannelsLast(a.shape(), v) : v;
    }

    /** Writes logical row-major values into {@code a}, honouring its layout; bumps its version. */
    private static void store(NDArray a, double[] logical) {
        heap(a).setAll(a.layout() == Layout.CHANNELS_LAST ? Broadcast.toChannelsLast(a.shape(), logical) : logical);
        a.buffer().bumpVersion();
    }

    private NDArray out(DType dtype, Shape shape, double[] values) {
        NDArray a = empty(dtype, shape, Layout.ROW_MAJOR);
        heap(a).setAll(values);
        return a;
    }
}
