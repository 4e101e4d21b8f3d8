package dev.graft.engine.backend.cpu;

import dev.graft.engine.DType;
import dev.graft.engine.Layout;
import dev.graft.engine.NDArray;
import dev.graft.engine.Precision;
import dev.graft.engine.Shape;
import dev.graft.engine.backend.Buffer;
import dev.graft.engine.backend.Conv2dSpec;
import org.bytedeco.dnnl.convolution_forward;
import org.bytedeco.dnnl.global.dnnl.algorithm;
import org.bytedeco.dnnl.global.dnnl.prop_kind;
import org.bytedeco.dnnl.memory;
import org.bytedeco.dnnl.post_ops;
import org.bytedeco.dnnl.primitive_attr;
import org.bytedeco.dnnl.reorder;
import org.bytedeco.javacpp.Pointer;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.WeakHashMap;

import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_ATTR_MULTIPLE_POST_OP_BASE;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_ATTR_SCALES;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_BIAS;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DST;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SRC;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SRC_1;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_WEIGHTS;

/**
 * Inference convolution with the epilogue in oneDNN post-ops: {@code forward_inference}, bias in the kernel,
 * then a binary-add post-op for the residual (read in place from its own buffer, NHWC or row-major as it is
 * stored) and an eltwise-relu post-op, so a ResNet block's {@code relu(bn(conv(x)) + identity)} is one primitive
 * once batch norm has been folded into the weights. Activations NHWC, weights {@code format_tag::any} reordered
 * once per weight version ({@link WeightCache}), descriptors and primitives cached by shape and epilogue.
 *
 * <p>NaN. oneDNN's relu post-op is {@code vmaxps(x, 0)}, which returns 0 for a NaN x, where torch.relu keeps NaN: an
 * all-NaN image came out of the fused ResNet as finite, confident logits (issue 18). Before the relu there is a NaN
 * only if an operand holds a NaN or an infinity, or a sum overflows (then inf - inf is NaN). Both are ruled out by a
 * bound: with |x| <= Bx, |residual| <= Br, |bias| <= Bb and L the largest sum of |w| over one output channel's
 * weights, every partial sum of every output is at most (L Bx + Bb + Br)(1 + (n + 3) 2^-22) for n = C/g R S products
 * (the rounding of any summation order, Higham's gamma_n, with room to spare), so below Float.MAX_VALUE / 2 nothing
 * can overflow. The bounds of x and the residual come from {@link ValueBounds}: recorded by the kernel that made them
 * (this one records the bound above for its output, relu or not), or measured by a scan when there is none or the
 * derived one has grown too large (a compiled ResNet-50 at its initialisation re-measures twice per pass, in layer3
 * and layer4; ResNet-18 never); L is computed once per weight version.
 * Without a safe bound the call runs the primitive without the relu post-op and applies
 * {@link CpuElementwise#reluInPlace}, which keeps NaN; otherwise the fused relu is exact. A network compiled for
 * inference thus scans its input image and little else (figures: dev.graft.engine.bench.NonFiniteCheckBench).
 */
final class CpuFusedConvolution implements AutoCloseable {
    private final Dnnl dnnl;
    private final CpuBackend backend;
    private final CpuReorders reorders;
    private final CpuElementwise elementwise;
    private final WeightCache weights;
    private final Map<Key, Entry> cache = new HashMap<>();
    private final ValueBounds bounds;
    /** Per weight buffer and version, the largest sum of |w| over one output channel (NaN or inf if not finite). */
    private final Map<Buffer, double[]> rowNorms = new WeakHashMap<>();
    /** Per int8 weight buffer: each output channel's sum of |w|, then the buffer version. */
    private final Map<Buffer, double[]> channelNorms = new WeakHashMap<>();
    /** Below this bound on a result's partial sums, nothing overflows (with a factor 2 to spare). */
    static final double SAFE = Float.MAX_VALUE / 2;

    /** One primitive: the convolution's shape, whether it has a bias, the residual's layout (null: none), relu, arithmetic. */
    record Key(CpuConvolution.Key conv, Layout residual, boolean relu, Mode mode) {
        Key(CpuConvolution.Key conv, Layout residual, boolean relu) {
            this(conv, residual, relu, Mode.F32);
        }
    }

    /** The arithmetic of a primitive: fp32; bf16 operands; int8 with a u8 or an s8 input. */
    enum Mode {
        F32, BF16, INT8_U8, INT8_S8
    }

    /** Whether oneDNN's effective ISA has bfloat16 instructions (AVX512_BF16, AMX, AVX10). */
    static boolean hasBf16() {
        String isa = Dnnl.versionAndIsa();
        return isa.contains("bf16") || isa.contains("amx") || isa.contains("avx10");
    }

    /** Whether the ISA has VNNI (int8 dot products): avx512_core_vnni or later, or avx2_vnni. */
    static boolean hasVnni() {
        String isa = Dnnl.versionAndIsa();
        return hasBf16() || isa.contains("vnni");
    }

    CpuFusedConvolution(Dnnl dnnl, CpuBackend backend, CpuReorders reorders, ValueBounds bounds, CpuElementwise elementwise) {
        this.dnnl = dnnl;
        this.backend = backend;
        this.reorders = reorders;
        this.bounds = bounds;
        this.elementwise = elementwise;
        this.weights = new WeightCache(dnnl);
    }

    NDArray forward(NDArray x, NDArray w, NDArray bias, NDArray residual, boolean relu, Conv2dSpec spec, NDArray out) {
        return forward(x, w, bias, residual, relu, spec, out, Mode.F32);
    }

    /**
     * As {@link #forward} with bfloat16 operands: x is converted to a bf16 copy by a reorder (round to nearest even), the
     * weights are reordered to bf16 once per weight version, and the primitive (bf16 x bf16 -> f32) accumulates and
     * runs the epilogue in fp32. Explicit bf16 memory rather than oneDNN's fpmath mode, which only permits bf16: with it,
     * some shapes (the stem, fc) kept fp32 kernels. The NaN bound grows by the two roundings.
     */
    NDArray forwardBf16(NDArray x, NDArray w, NDArray bias, NDArray residual, boolean relu, Conv2dSpec spec, NDArray out) {
        return forward(x, w, bias, residual, relu, spec, out, Mode.BF16);
    }

    private NDArray forward(NDArray x, NDArray w, NDArray bias, NDArray residual, boolean relu, Conv2dSpec spec, NDArray out,
                            Mode mode) {
        double bound = outputBound(x, w, bias, residual, relu);
        if (mode == Mode.BF16) {
            bound *= 1 + 0x1p-7; // |bf16(a) bf16(b)| <= |a b| (1 + 2^-8)^2
        }
        NDArray y;
        if (relu && !(bound <= SAFE)) {
            // A NaN could reach the relu: oneDNN's post-op would make it 0, this relu keeps it.
            y = run(x, w, bias, residual, false, spec, out, mode, null);
            elementwise.reluInPlace(y);
        } else {
            y = run(x, w, bias, residual, relu, spec, out, mode, null);
        }
        if (bound <= SAFE) {
            bounds.record(y, bound); // above SAFE a sum may have overflowed: no bound, and NaN is not ruled out
        }
        return y;
    }

    /**
     * A bound on |conv(x, w) + bias + residual|, relu or not, from the operands' recorded bounds (see the class
     * comment); when that is not below {@link #SAFE} and {@code scan} is set, from scans of x and the residual. NaN or
     * infinite when an operand holds a NaN or an infinity, or when unknown without a scan.
     */
    private double outputBound(NDArray x, NDArray w, NDArray bias, NDArray residual, boolean scan) {
        Shape ws = w.shape();
        long terms = (long) ws.dim(1) * ws.dim(2) * ws.dim(3);
        double l = rowNorm(w);
        double bb = bias == null ? 0 : bounds.of(bias);
        double bound = bound(terms, l, bounds.recorded(x), bb, residual == null ? 0 : bounds.recorded(residual));
        if (bound <= SAFE || !scan) {
            return bound;
        }
        double bx = bounds.measured(x) ? bounds.recorded(x) : bounds.measure(x);
        double br = residual == null ? 0 : bounds.measured(residual) ? bounds.recorded(residual) : bounds.measure(residual);
        return bound(terms, l, bx, bb, br);
    }

    private static double bound(long terms, double rowNorm, double bx, double bb, double br) {
        return (rowNorm * bx + bb + br) * (1 + (terms + 3) * 0x1p-22);
    }

    /** The largest sum of |w| over one output channel (K is outermost in every layout); NaN or inf if w is not finite. */
    private double rowNorm(NDArray w) {
        Buffer b = w.buffer();
        double[] known = rowNorms.get(b);
        if (known != null && known[0] == b.version()) {
            return known[1];
        }
        int k = w.shape().dim(0);
        int per = w.numel() / k;
        java.nio.FloatBuffer v = NativeBuffer.of(w).floats(0, w.numel());
        double max = 0;
        float[] row = new float[per]; // one bulk copy per row: per-element buffer reads are slow before the JIT warms up
        for (int o = 0; o < k; o++) {
            v.get(o * per, row);
            max = Math.max(max, absSum(row)); // NaN sticks
        }
        rowNorms.put(b, new double[] {b.version(), max});
        return max;
    }

    /** The sum of |v[i]| in index order, in double. */
    private static double absSum(float[] v) {
        double sum = 0;
        for (float f : v) {
            sum += Math.abs(f);
        }
        return sum;
    }

    /**
     * The int8 convolution (see {@code Backend.conv2dInferenceInt8}): x is quantized by a oneDNN reorder with a
     * destination scale (round to nearest even, saturating), the s8 weights are reordered once per weight version
     * into the primitive's layout (exact: wq holds integers), and the primitive applies {@code xScale * wScales[k]}
     * to the int32 sums before the bias and the post-ops. Quantization turns a NaN into a number, so x is checked
     * first (its recorded bound, measured or derived, else a scan): an image of x holding a NaN or an infinity gets
     * all-NaN outputs. The output's bound is recorded from the scales and the weights (quantization saturates), so a
     * chain of int8 convolutions scans no activation once its first input is known finite. A non-finite residual with
     * a relu takes the unfused relu, as in fp32.
     */
    NDArray forwardInt8(NDArray x, float xScale, boolean xUnsigned, NDArray wq, float[] wScales, NDArray bias, NDArray residual,
                        boolean relu, Conv2dSpec spec, NDArray out) {
        int k = wq.shape().dim(0);
        if (wScales.length != k || !(xScale > 0) || !Float.isFinite(xScale)) {
            throw new IllegalArgumentException("int8 convolution: " + wScales.length + " weight scales for " + k
                    + " output channels, input scale " + xScale);
        }
        for (float s : wScales) {
            if (!(s > 0) || !Float.isFinite(s)) {
                throw new IllegalArgumentException("int8 convolution: weight scale " + s + " is not a positive number");
            }
        }
        double bx = bounds.of(x); // a recorded bound (measured or derived) proves x finite; else a scan
        Mode mode = xUnsigned ? Mode.INT8_U8 : Mode.INT8_S8;
        if (!(bx <= Float.MAX_VALUE)) {
            // Quantizing would turn a NaN or an infinity into a number: the images holding one get all-NaN outputs.
            int n = x.shape().dim(0);
            int per = x.numel() / n;
            java.nio.FloatBuffer xv = NativeBuffer.of(x).floats(0, x.numel()); // N is outermost in every layout
            NDArray y = run(x, wq, bias, residual, relu, spec, out, mode, new float[][] {{xScale}, wScales});
            int perOut = y.numel() / n;
            java.nio.FloatBuffer f = NativeBuffer.of(y).floats(0, y.numel());
            for (int img = 0; img < n; img++) {
                boolean finite = true;
                for (int i = img * per; i < (img + 1) * per && finite; i++) {
                    finite = Float.isFinite(xv.get(i));
                }
                for (int i = img * perOut; i < (img + 1) * perOut && !finite; i++) {
                    f.put(i, Float.NaN);
                }
            }
            NativeBuffer.of(y).bumpVersion();
            return y;
        }
        double br = residual == null ? 0 : bounds.of(residual);
        if (relu && !(br <= Float.MAX_VALUE)) {
            NDArray y = run(x, wq, bias, residual, false, spec, out, mode, new float[][] {{xScale}, wScales});
            elementwise.reluInPlace(y);
            return y;
        }
        NDArray y = run(x, wq, bias, residual, relu, spec, out, mode, new float[][] {{xScale}, wScales});
        // The quantized input saturates, |q| <= 255 (u8) or 128 (s8), so |y| is bounded by the scales and the weights alone
        // (plus bias and residual), not by x's bound: the next int8 layer and the residual sums need no scan of y.
        Shape ws = wq.shape();
        long terms = (long) ws.dim(1) * ws.dim(2) * ws.dim(3);
        double[] sums = channelNorms(wq);
        double l = 0;
        for (int o = 0; o < k; o++) {
            l = Math.max(l, sums[o] * wScales[o]); // NaN sticks
        }
        double bound = bound(terms, l, (xUnsigned ? 255.0 : 128.0) * xScale, bias == null ? 0 : bounds.of(bias), br);
        if (bound <= SAFE) {
            bounds.record(y, bound);
        }
        return y;
    }

    /** Per output channel, the sum of |w| (cached per weight buffer and version; the last slot holds the version). */
    private double[] channelNorms(NDArray w) {
        Buffer b = w.buffer();
        double[] known = channelNorms.get(b);
        int k = w.shape().dim(0);
        if (known != null && known[k] == b.version()) {
            return known;
        }
        int per = w.numel() / k;
        java.nio.FloatBuffer v = NativeBuffer.of(w).floats(0, w.numel());
        double[] sums = new double[k + 1];
        for (int o = 0; o < k; o++) {
            double sum = 0;
            for (int i = o * per; i < (o + 1) * per; i++) {
                sum += Math.abs(v.get(i));
            }
            sums[o] = sum;
        }
        sums[k] = b.version();
        channelNorms.put(b, sums);
        return sums;
    }

    private NDArray run(NDArray x, NDArray w, NDArray bias, NDArray residual, boolean relu, Conv2dSpec spec, NDArray out,
                        Mode mode, float[][] scales) {
        CpuConvolution.Key ck = CpuConvolution.Key.of(x.shape(), w.shape(), spec, bias != null);
        Layout resLayout = residual == null ? null : storedLayout(residual);
        Key key = new Key(ck, resLayout, relu, mode);
        Entry e = entry(key);
        if (mode != Mode.F32) {
            e.scratch(key);
        }
        NDArray xs = reorders.channelsLast(x, backend);
        // Write straight into out when its storage is NHWC order; otherwise through a temporary.
        boolean direct = out != null && CpuReorders.storedAs(out, Layout.CHANNELS_LAST);
        NDArray dst = direct ? out : backend.empty(DType.F32, ck.outputShape(), Layout.CHANNELS_LAST);
        Pointer wp = e.reorder == null ? NativeBuffer.of(w).pointer() : weights.get(NativeBuffer.of(w), e.weights, e.reorder);
        Pointer src = NativeBuffer.of(xs).pointer();
        org.bytedeco.javacpp.FloatPointer sp = null;
        if (scales != null) {
            // The entry's own scratch (the backend runs one call at a time): no allocation per call.
            sp = e.scales.pointer();
            sp.put(0, scales[0][0]);
            for (int i = 0; i < scales[1].length; i++) {
                sp.put(1 + i, scales[1][i]);
            }
            e.quantize.run(dnnl, src, e.converted.pointer(), sp);
            src = e.converted.pointer();
        } else if (mode == Mode.BF16) {
            e.quantize.run(dnnl, src, e.converted.pointer());
            src = e.converted.pointer();
        }
        Pointer[] args = e.args;
        int a = 0;
        args[a++] = src;
        args[a++] = wp;
        if (bias != null) {
            args[a++] = NativeBuffer.of(bias).pointer();
        }
        if (residual != null) {
            args[a++] = NativeBuffer.of(residual).pointer();
        }
        args[a++] = NativeBuffer.of(dst).pointer();
        if (scales != null) {
            args[a++] = sp;
            args[a] = e.weightScales;
        }
        try {
            e.step.run(dnnl, args);
        } finally {
            java.util.Arrays.fill(args, null); // no reference to the caller's buffers outlives the call
        }
        CpuReorders.release(xs, x);
        NativeBuffer.of(dst).bumpVersion();
        if (out == null || direct) {
            return dst;
        }
        reorders.copy(dst, out);
        dst.buffer().close();
        return out;
    }

    /** The kernel oneDNN picked for a bf16 or int8 convolution of one shape and epilogue (with a bias). */
    String implementation(Precision precision, boolean unsigned, Shape x, Shape w, Conv2dSpec spec, boolean residual, boolean relu) {
        Mode mode = switch (precision) {
            case FP32 -> Mode.F32;
            case BF16 -> Mode.BF16;
            case INT8 -> unsigned ? Mode.INT8_U8 : Mode.INT8_S8;
        };
        return entry(new Key(CpuConvolution.Key.of(x, w, spec, true), residual ? Layout.CHANNELS_LAST : null, relu, mode))
                .step.implementation();
    }

    /** The kernel oneDNN picked for one shape and epilogue (diagnostics, tests). */
    String implementation(Shape x, Shape w, Conv2dSpec spec, boolean bias, boolean residual, boolean relu) {
        return entry(new Key(CpuConvolution.Key.of(x, w, spec, bias), residual ? Layout.CHANNELS_LAST : null, relu))
                .step.implementation();
    }

    int cachedWeightCopies() {
        return weights.size();
    }

    /** The layout whose descriptor matches a's storage order (a relabel-free view when both orders coincide). */
    private static Layout storedLayout(NDArray a) {
        return CpuReorders.storedAs(a, Layout.CHANNELS_LAST) ? Layout.CHANNELS_LAST : a.layout();
    }

    private Entry entry(Key k) {
        Entry e = cache.get(k);
        if (e == null) {
            e = Dnnl.build("fused inference convolution for " + k.conv(), () -> new Entry(k));
            cache.put(k, e);
        }
        return e;
    }

    @Override
    public void close() {
        cache.values().forEach(Entry::close);
        cache.clear();
        rowNorms.clear();
        channelNorms.clear();
        weights.close();
    }

    /** The primitive of one key, the weight layout it chose and the plain -> chosen weight reorder (null: plain). */
    private final class Entry implements AutoCloseable {
        final Step step;
        final memory.desc weights;
        final Step reorder;
        /** int8: the f32 -> u8/s8 input reorder with a destination scale; bf16: the f32 -> bf16 conversion; else null. */
        final Step quantize;
        /** int8 and bf16: the converted input, allocated by the first call (outside {@link Dnnl#build}'s pointer scope). */
        NativeMemory converted;
        /** int8: the input scale, then the weight scales (refilled by every call, as entries are shared by shape). */
        NativeMemory scales;
        /** int8: a view of {@link #scales} from its second float. */
        Pointer weightScales;

        /** Allocates the int8 or bf16 scratch once; the backend runs one call at a time, so one per entry suffices. */
        void scratch(Key key) {
            if (converted != null) {
                return;
            }
            CpuConvolution.Key k = key.conv();
            long numel = (long) k.n() * k.c() * k.h() * k.w();
            if (key.mode() == Mode.BF16) {
                converted = new NativeMemory((numel + 1) / 2 * 4, true);
            } else {
                scales = new NativeMemory(4L * (1 + k.k()), true);
                weightScales = scales.pointer().getPointer(1);
                converted = new NativeMemory((numel + 3) / 4 * 4, true);
            }
        }
        /** The data pointers of one call, in the step's argument order (reused). */
        final Pointer[] args;

        Entry(Key key) {
            boolean int8 = key.mode() == Mode.INT8_U8 || key.mode() == Mode.INT8_S8;
            CpuConvolution.Key k = key.conv();
            Conv2dSpec sp = k.spec();
            int g = sp.groups();
            long[] strides = {sp.strideH(), sp.strideW()};
            long[] dilates = {sp.dilationH() - 1, sp.dilationW() - 1};
            long[] pad = {sp.padH(), sp.padW()};
            long[] dstDims = {k.n(), k.k(), k.p(), k.q()};
            long[] srcDims = {k.n(), k.c(), k.h(), k.w()};
            boolean bf16 = key.mode() == Mode.BF16;
            memory.desc src = !int8 && !bf16 ? Dnnl.nhwc(srcDims) : new memory.desc(srcDims, bf16 ? memory.data_type.bf16
                    : key.mode() == Mode.INT8_U8 ? memory.data_type.u8 : memory.data_type.s8, memory.format_tag.nhwc);
            memory.desc dst = Dnnl.nhwc(dstDims);
            long[] wd = g == 1 ? new long[] {k.k(), k.c(), k.r(), k.s()}
                    : new long[] {g, k.k() / g, k.c() / g, k.r(), k.s()};
            memory.desc plainWeights = Dnnl.plain(wd);
            memory.desc bias = Dnnl.plain(new long[] {k.k()});
            primitive_attr attr = new primitive_attr();
            post_ops ops = new post_ops();
            memory.desc residual = key.residual() == null ? null : Dnnl.desc(k.outputShape(), key.residual());
            if (residual != null) {
                ops.append_binary(algorithm.binary_add, residual);
            }
            if (key.relu()) {
                ops.append_eltwise(algorithm.eltwise_relu, 0f, 0f);
            }
            attr.set_post_ops(ops);
            memory.desc srcScales = null;
            memory.desc weightScales = null;
            if (int8) {
                attr.set_scales_mask(DNNL_ARG_SRC, 0);
                attr.set_scales_mask(DNNL_ARG_WEIGHTS, g == 1 ? 1 : 3); // per output channel ([K, ...] or [g, K/g, ...])
                srcScales = Dnnl.plain(new long[] {1});
                weightScales = Dnnl.plain(new long[] {k.k()});
            }
            memory.desc anyWeights = !int8 && !bf16 ? Dnnl.any(wd)
                    : new memory.desc(wd, bf16 ? memory.data_type.bf16 : memory.data_type.s8, memory.format_tag.any);
            convolution_forward.primitive_desc pd = k.bias()
                    ? new convolution_forward.primitive_desc(dnnl.engine, prop_kind.forward_inference,
                            algorithm.convolution_direct, src, anyWeights, bias, dst, strides, dilates, pad, pad, attr, false)
                    : new convolution_forward.primitive_desc(dnnl.engine, prop_kind.forward_inference,
                            algorithm.convolution_direct, src, anyWeights, dst, strides, dilates, pad, pad, attr, false);
            weights = pd.weights_desc();
            weights.retainReference();
            reorder = weights.equals(plainWeights) ? null
                    : reorders.reorder("weights reorder for fused inference " + k, plainWeights, weights);
            List<Integer> ids = new ArrayList<>(List.of(DNNL_ARG_SRC, DNNL_ARG_WEIGHTS));
            List<memory.desc> descs = new ArrayList<>(List.of(src, weights));
            if (k.bias()) {
                ids.add(DNNL_ARG_BIAS);
                descs.add(bias);
            }
            if (residual != null) {
                ids.add(DNNL_ARG_ATTR_MULTIPLE_POST_OP_BASE | DNNL_ARG_SRC_1); // post-op 0's second source
                descs.add(residual);
            }
            ids.add(DNNL_ARG_DST);
            descs.add(dst);
            if (int8) {
                ids.add(DNNL_ARG_ATTR_SCALES | DNNL_ARG_SRC);
                descs.add(srcScales);
                ids.add(DNNL_ARG_ATTR_SCALES | DNNL_ARG_WEIGHTS);
                descs.add(weightScales);
                primitive_attr q = new primitive_attr();
                q.set_scales_mask(DNNL_ARG_DST, 0);
                memory.desc from = Dnnl.nhwc(srcDims);
                reorder.primitive_desc rpd = new reorder.primitive_desc(dnnl.engine, from, dnnl.engine, src, q, false);
                quantize = new Step("int8 quantization of " + k, dnnl, rpd, new reorder(rpd),
                        new int[] {DNNL_ARG_SRC, DNNL_ARG_DST, DNNL_ARG_ATTR_SCALES | DNNL_ARG_DST},
                        new memory.desc[] {from, src, srcScales});
            } else if (bf16) {
                memory.desc from = Dnnl.nhwc(srcDims);
                reorder.primitive_desc rpd = new reorder.primitive_desc(dnnl.engine, from, dnnl.engine, src);
                quantize = new Step("bf16 conversion of " + k, dnnl, rpd, new reorder(rpd), new int[] {DNNL_ARG_SRC, DNNL_ARG_DST},
                        new memory.desc[] {from, src});
            } else {
                quantize = null;
            }
            args = new Pointer[ids.size()];
            step = new Step(key.mode() + " fused inference convolution " + k + (residual != null ? " + residual" : "")
                    + (key.relu() ? " + relu" : ""), dnnl, pd, new convolution_forward(pd),
                    ids.stream().mapToInt(Integer::intValue).toArray(), descs.toArray(new memory.desc[0]));
        }

        @Override
        public void close() {
            step.close();
            if (reorder != null) {
                reorder.close();
            }
            if (quantize != null) {
                quantize.close();
            }
            if (converted != null) {
                converted.close();
            }
            if (scales != null) {
                scales.close();
            }
            weights.close();
        }
    }
}
