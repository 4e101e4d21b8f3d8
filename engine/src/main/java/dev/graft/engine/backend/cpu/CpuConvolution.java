package dev.graft.engine.backend.cpu;

import dev.graft.engine.DType;
import dev.graft.engine.Layout;
import dev.graft.engine.NDArray;
import dev.graft.engine.Precision;
import dev.graft.engine.Shape;
import dev.graft.engine.backend.Conv2dSpec;
import org.bytedeco.dnnl.convolution_backward_data;
import org.bytedeco.dnnl.convolution_backward_weights;
import org.bytedeco.dnnl.convolution_forward;
import org.bytedeco.dnnl.global.dnnl.algorithm;
import org.bytedeco.dnnl.global.dnnl.prop_kind;
import org.bytedeco.dnnl.memory;
import org.bytedeco.javacpp.Pointer;

import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_BIAS;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_DST;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_SRC;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_WEIGHTS;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DST;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SRC;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_WEIGHTS;

/**
 * Convolution forward, backward-data and backward-weights with oneDNN. Activations are NHWC (channels-last,
 * inputs reordered at the boundary when they arrive row-major); weights stay plain OIHW ([G, K/G, C/G, R, S]
 * goihw for groups) in their buffers and every pass asks for {@code format_tag::any} weights, so oneDNN
 * picks its blocked jit/brgemm kernels (plain NCHW/OIHW primitives pick {@code jit_uni_ncsp}, 100-230x
 * slower: see the spike). The three passes may choose different weight layouts; each reordered copy is cached
 * by {@link WeightCache}. Descriptors, primitives, reorders and argument maps are cached by shape.
 * oneDNN counts dilation from 0, PyTorch from 1; padding is symmetric (PyTorch's floor rule matches
 * oneDNN's output-size check with padR = padL).
 *
 * <p>Under {@link Precision#BF16} all three passes take bf16 operands: the activations (x and/or dy) are
 * reordered to bf16 NHWC per call and the weights to the primitive's bf16 blocked layout once per weight version
 * ({@link WeightCache}), both by oneDNN reorders (nearest-even); the result is F32, accumulated in F32. Tried first:
 * F32 memory with {@code fpmath_mode::bf16}. oneDNN 3.11 honoured it on most shapes here
 * ({@code brg_conv_fwd:avx10_1_512_amx}) but silently kept F32 kernels for strided backward-data
 * ({@code brgconv_strided:avx512_core}), and in a ResNet-18 batch-32 step (2 loaded cores, graft bench --profile,
 * rough) its forward took 0.7-0.8 s against 0.4-0.5 s with explicit bf16 operands (F32 weights converted inside
 * every call; the 3-channel stem 143-181 ms against 46-55), backward-data 0.5-0.9 s both ways; F32 was 1.0 s and
 * 0.9 s. Backward-weights takes bf16 x and dy too (see {@link Entry#backwardWeights}). The precision is part of the cache key, so
 * both modes' primitives can live side by side.
 */
final class CpuConvolution implements AutoCloseable {
    private final Dnnl dnnl;
    private final CpuBackend backend;
    private final CpuReorders reorders;
    private final WeightCache weights;
    private final Map<Key, Entry> cache = new HashMap<>();

    record Key(int n, int c, int h, int w, int k, int r, int s, Conv2dSpec spec, boolean bias, Precision precision) {
        /** An FP32 key (the inference plan's, which has no precision of its own here). */
        static Key of(Shape x, Shape w, Conv2dSpec spec, boolean bias) {
            return of(x, w, spec, bias, Precision.FP32);
        }

        static Key of(Shape x, Shape w, Conv2dSpec spec, boolean bias, Precision precision) {
            return new Key(x.dim(0), x.dim(1), x.dim(2), x.dim(3), w.dim(0), w.dim(2), w.dim(3), spec, bias, precision);
        }

        int p() {
            return Conv2dSpec.outputSize(h, r, spec.strideH(), spec.padH(), spec.dilationH());
        }

        int q() {
            return Conv2dSpec.outputSize(w, s, spec.strideW(), spec.padW(), spec.dilationW());
        }

        Shape outputShape() {
            return Shape.of(n, k, p(), q());
        }

        @Override
        public String toString() {
            return "conv2d x [" + n + ", " + c + ", " + h + ", " + w + "] w [" + k + ", " + (c / spec.groups()) + ", " + r
                    + ", " + s + "] " + spec + (precision == Precision.FP32 ? "" : " " + precision);
        }
    }

    CpuConvolution(Dnnl dnnl, CpuBackend backend, CpuReorders reorders) {
        this.dnnl = dnnl;
        this.backend = backend;
        this.reorders = reorders;
        this.weights = new WeightCache(dnnl);
    }

    NDArray forward(NDArray x, NDArray w, NDArray bias, Conv2dSpec spec) {
        Entry e = entry(Key.of(x.shape(), w.shape(), spec, false, backend.precision()));
        Step step = e.forward(bias != null);
        NDArray xs = reorders.channelsLast(x, backend);
        NDArray out = backend.empty(DType.F32, e.key.outputShape(), Layout.CHANNELS_LAST);
        Pointer wp = e.fwdHalf ? e.weightsFor(NativeBuffer.of(w), e.fwdHalfWeights, e.fwdHalfReorder)
                : e.weightsFor(NativeBuffer.of(w), e.fwdWeights, e.fwdReorder);
        try (NativeMemory half = e.fwdHalf ? e.toBf16(e.srcToBf16(), e.srcBf16, NativeBuffer.of(xs).pointer()) : null) {
            Pointer xp = half != null ? half.pointer() : NativeBuffer.of(xs).pointer();
            if (bias == null) {
                step.run(dnnl, xp, wp, NativeBuffer.of(out).pointer());
            } else {
                step.run(dnnl, xp, wp, NativeBuffer.of(bias).pointer(), NativeBuffer.of(out).pointer());
            }
        }
        CpuReorders.release(xs, x);
        return out;
    }

    NDArray backwardData(NDArray dy, NDArray w, Shape xShape, Conv2dSpec spec) {
        Entry e = entry(Key.of(xShape, w.shape(), spec, false, backend.precision()));
        Step step = e.backwardData();
        NDArray dys = reorders.channelsLast(dy, backend);
        NDArray dx = backend.empty(DType.F32, xShape, Layout.CHANNELS_LAST);
        Pointer wp = e.weightsFor(NativeBuffer.of(w), e.bwdDataWeights, e.bwdDataReorder);
        try (NativeMemory half = e.bwdDataHalf ? e.toBf16(e.dstToBf16(), e.dstBf16, NativeBuffer.of(dys).pointer()) : null) {
            step.run(dnnl, half != null ? half.pointer() : NativeBuffer.of(dys).pointer(), wp, NativeBuffer.of(dx).pointer());
        }
        CpuReorders.release(dys, dy);
        return dx;
    }

    /**
     * Whether the weight gradient goes through {@link #subsampled}: a 1x1 convolution with stride > 1 and no padding
     * (a ResNet downsample). oneDNN 3.11's {@code jit_1x1} backward-weights handles the stride by copying the strided
     * input into per-thread scratch ("reduce to unit stride"), and on 2 threads that path overruns the native heap
     * (glibc aborts with {@code free(): invalid pointer} a few calls later, or the JVM takes SIGSEGV inside
     * libdnnl). Found by the network fuzzer; reproduced at kernel level (CpuStridedPointwiseTest): batch 1, 2-12
     * input channels, e.g. x [1,7,22,14], w [14,7,1,1], stride 2; batch 2, 1, 15 and 16+ input channels, odd input
     * sizes, stride 1 and one thread did not crash, but the edge of that region is not known, so every such shape is
     * routed.
     */
    static boolean routesStridedPointwise(Shape wShape, Conv2dSpec spec) {
        return wShape.dim(2) == 1 && wShape.dim(3) == 1 && spec.padH() == 0 && spec.padW() == 0
                && (spec.strideH() > 1 || spec.strideW() > 1);
    }

    /**
     * The weight gradient of a strided 1x1 convolution without padding as that of a unit-stride one on the input
     * positions it reads, x[:, :, ::sh, ::sw] (the same products), copied in Java: no JIT kernel sees a stride. (A
     * oneDNN reorder from a strided view would do the copy, but oneDNN sizes such a view as dims x strides, past the
     * end of x when H or W is odd, which the argument-size check rightly refuses.)
     */
    private NDArray subsampled(NDArray dy, NDArray x, Shape wShape, Conv2dSpec spec) {
        Shape xsh = x.shape();
        int n = xsh.dim(0), c = xsh.dim(1), h = xsh.dim(2), w = xsh.dim(3);
        int p = dy.shape().dim(2), q = dy.shape().dim(3);
        NDArray xs = reorders.channelsLast(x, backend);
        NDArray picked = backend.empty(DType.F32, Shape.of(n, c, p, q), Layout.CHANNELS_LAST);
        FloatBuffer from = NativeBuffer.of(xs).floats(0, xs.numel());
        FloatBuffer to = NativeBuffer.of(picked).floats(0, picked.numel());
        for (int b = 0; b < n; b++) {
            for (int i = 0; i < p; i++) {
                for (int j = 0; j < q; j++) {
                    // NHWC: position (b, i*sh, j*sw) of x to position (b, i, j) of the copy, C floats each.
                    to.put(((b * p + i) * q + j) * c, from, ((b * h + i * spec.strideH()) * w + j * spec.strideW()) * c, c);
                }
            }
        }
        CpuReorders.release(xs, x);
        Conv2dSpec unit = new Conv2dSpec(1, 1, 0, 0, spec.dilationH(), spec.dilationW(), spec.groups());
        NDArray dw = backwardWeights(dy, picked, wShape, unit);
        picked.buffer().close();
        return dw;
    }

    /** The weight gradient, row-major OIHW like the weights. */
    NDArray backwardWeights(NDArray dy, NDArray x, Shape wShape, Conv2dSpec spec) {
        if (routesStridedPointwise(wShape, spec)) {
            return subsampled(dy, x, wShape, spec);
        }
        Entry e = entry(Key.of(x.shape(), wShape, spec, false, backend.precision()));
        Step step = e.backwardWeights();
        NDArray xs = reorders.channelsLast(x, backend);
        NDArray dys = reorders.channelsLast(dy, backend);
        NDArray dw = backend.empty(DType.F32, wShape, Layout.ROW_MAJOR);
        Pointer out = NativeBuffer.of(dw).pointer();
        try (NativeMemory xHalf = e.bwdWeightsHalf ? e.toBf16(e.srcToBf16(), e.srcBf16, NativeBuffer.of(xs).pointer()) : null;
             NativeMemory dyHalf = e.bwdWeightsHalf ? e.toBf16(e.dstToBf16(), e.dstBf16, NativeBuffer.of(dys).pointer()) : null) {
            Pointer xp = xHalf != null ? xHalf.pointer() : NativeBuffer.of(xs).pointer();
            Pointer dyp = dyHalf != null ? dyHalf.pointer() : NativeBuffer.of(dys).pointer();
            if (e.diffWeightsReorder == null) {
                step.run(dnnl, xp, dyp, out);
            } else {
                step.run(dnnl, xp, dyp, e.diffWeightsScratch.pointer());
                e.diffWeightsReorder.run(dnnl, e.diffWeightsScratch.pointer(), out);
            }
        }
        CpuReorders.release(xs, x);
        CpuReorders.release(dys, dy);
        return dw;
    }

    /** The kernels oneDNN picked for forward, backward-data and backward-weights of one shape (diagnostics, tests). */
    List<String> implementations(Shape x, Shape w, Conv2dSpec spec) {
        Entry e = entry(Key.of(x, w, spec, false, backend.precision()));
        return List.of(e.forward(false).implementation(), e.backwardData().implementation(),
                e.backwardWeights().implementation());
    }

    int cachedShapes() {
        return cache.size();
    }

    int cachedWeightCopies() {
        return weights.size();
    }

    private Entry entry(Key k) {
        Entry e = cache.get(k);
        if (e == null) {
            e = Dnnl.build("convolution forward for " + k, () -> new Entry(k));
            cache.put(k, e);
        }
        return e;
    }

    @Override
    public void close() {
        cache.values().forEach(Entry::close);
        cache.clear();
        weights.close();
    }

    /**
     * Everything cached for one shape. The forward descriptor (no bias) is built at once: the backward
     * passes need it as their hint. Primitives are built on first use, so inference never JITs backward
     * kernels and a frozen layer never JITs backward-weights.
     */
    private final class Entry implements AutoCloseable {
        final Key key;
        final long[] strides;
        final long[] dilates;
        final long[] pad;
        final memory.desc src;
        final memory.desc dst;
        final memory.desc plainWeights;
        final memory.desc anyWeights;
        final convolution_forward.primitive_desc hint;
        final memory.desc fwdWeights;
        final Step fwdReorder;
        private final List<Pointer> owned = new ArrayList<>();
        private Step fwd;
        private Step fwdBias;
        private Step bwdData;
        memory.desc bwdDataWeights;
        Step bwdDataReorder;
        private Step bwdWeights;
        Step diffWeightsReorder;
        NativeMemory diffWeightsScratch;
        memory.desc srcBf16;
        memory.desc dstBf16;
        private Step srcToBf16;
        private Step dstToBf16;
        private convolution_forward.primitive_desc halfHint;
        /** Whether forward / backward-data run on bf16 operands (under BF16 precision). */
        boolean fwdHalf;
        boolean bwdDataHalf;
        boolean bwdWeightsHalf;
        memory.desc fwdHalfWeights;
        Step fwdHalfReorder;
        private convolution_forward.primitive_desc fwdHalfPd;

        Entry(Key k) {
            key = k;
            Conv2dSpec sp = k.spec();
            int g = sp.groups();
            strides = new long[] {sp.strideH(), sp.strideW()};
            dilates = new long[] {sp.dilationH() - 1, sp.dilationW() - 1};
            pad = new long[] {sp.padH(), sp.padW()};
            src = keep(Dnnl.nhwc(new long[] {k.n(), k.c(), k.h(), k.w()}));
            dst = keep(Dnnl.nhwc(new long[] {k.n(), k.k(), k.p(), k.q()}));
            long[] wd = g == 1 ? new long[] {k.k(), k.c(), k.r(), k.s()}
                    : new long[] {g, k.k() / g, k.c() / g, k.r(), k.s()};
            plainWeights = keep(Dnnl.plain(wd));
            anyWeights = keep(Dnnl.any(wd));
            hint = keep(new convolution_forward.primitive_desc(dnnl.engine, prop_kind.forward_training,
                    algorithm.convolution_direct, src, anyWeights, dst, strides, dilates, pad, pad));
            fwdWeights = keep(hint.weights_desc());
            fwdReorder = fwdWeights.equals(plainWeights) ? null
                    : reorders.reorder("weights reorder for " + k, plainWeights, fwdWeights);
            if (k.precision() == Precision.BF16) {
                fwdHalf = true;
                fwdHalfPd = keep(new convolution_forward.primitive_desc(dnnl.engine, prop_kind.forward_training,
                        algorithm.convolution_direct, srcBf16(), anyHalf(), dst, strides, dilates, pad, pad));
                fwdHalfWeights = keep(fwdHalfPd.weights_desc());
                fwdHalfReorder = reorders.reorder("bf16 weights reorder for " + k, plainWeights, fwdHalfWeights);
            }
        }

        private long[] weightDims() {
            int g = key.spec().groups();
            return g == 1 ? new long[] {key.k(), key.c(), key.r(), key.s()}
                    : new long[] {g, key.k() / g, key.c() / g, key.r(), key.s()};
        }

        private memory.desc anyHalf() {
            return keep(new memory.desc(weightDims(), memory.data_type.bf16, memory.format_tag.any));
        }

        memory.desc srcBf16() {
            if (srcBf16 == null) {
                srcBf16 = keep(new memory.desc(new long[] {key.n(), key.c(), key.h(), key.w()}, memory.data_type.bf16,
                        memory.format_tag.nhwc));
            }
            return srcBf16;
        }

        memory.desc dstBf16() {
            if (dstBf16 == null) {
                dstBf16 = keep(new memory.desc(new long[] {key.n(), key.k(), key.p(), key.q()}, memory.data_type.bf16,
                        memory.format_tag.nhwc));
            }
            return dstBf16;
        }

        Step srcToBf16() {
            if (srcToBf16 == null) {
                srcToBf16 = reorders.reorder("bf16 input reorder for " + key, src, srcBf16());
            }
            return srcToBf16;
        }

        Step dstToBf16() {
            if (dstToBf16 == null) {
                dstToBf16 = reorders.reorder("bf16 output-gradient reorder for " + key, dst, dstBf16());
            }
            return dstToBf16;
        }

        /** The all-bf16 forward descriptor, the hint of the explicit bf16 backward passes. */
        convolution_forward.primitive_desc halfHint() {
            if (halfHint == null) {
                halfHint = keep(new convolution_forward.primitive_desc(dnnl.engine, prop_kind.forward_training,
                        algorithm.convolution_direct, srcBf16(), anyHalf(), dstBf16(), strides, dilates, pad, pad));
            }
            return halfHint;
        }

        /** {@code f32} (laid out as {@code reorder}'s source) rounded to bf16 in new memory the caller closes. */
        NativeMemory toBf16(Step reorder, memory.desc half, Pointer f32) {
            NativeMemory m = new NativeMemory(half.get_size());
            reorder.run(dnnl, f32, m.pointer());
            return m;
        }

        Step forward(boolean withBias) {
            if (!withBias) {
                if (fwd == null) {
                    convolution_forward.primitive_desc pd = fwdHalf ? fwdHalfPd : hint;
                    fwd = Dnnl.build("convolution forward for " + key, () -> new Step("convolution forward " + key, dnnl, pd,
                            new convolution_forward(pd), new int[] {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST},
                            new memory.desc[] {fwdHalf ? srcBf16 : src, fwdHalf ? fwdHalfWeights : fwdWeights, dst}));
                }
                return fwd;
            }
            if (fwdBias == null) {
                fwdBias = Dnnl.build("convolution forward with bias for " + key, () -> {
                    memory.desc bias = Dnnl.plain(new long[] {key.k()});
                    memory.desc xd = fwdHalf ? srcBf16 : src;
                    memory.desc wd = fwdHalf ? fwdHalfWeights : fwdWeights;
                    convolution_forward.primitive_desc pd = new convolution_forward.primitive_desc(dnnl.engine,
                            prop_kind.forward_training, algorithm.convolution_direct, xd, wd, bias, dst,
                            strides, dilates, pad, pad);
                    return new Step("convolution forward " + key, dnnl, pd, new convolution_forward(pd),
                            new int[] {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_BIAS, DNNL_ARG_DST},
                            new memory.desc[] {xd, wd, bias, dst});
                });
            }
            return fwdBias;
        }

        Step backwardData() {
            if (bwdData == null) {
                bwdData = Dnnl.build("convolution backward-data for " + key, () -> {
                    convolution_backward_data.primitive_desc pd;
                    if (key.precision() == Precision.BF16) {
                        bwdDataHalf = true; // bf16 diff_dst and weights, f32 diff_src
                        pd = new convolution_backward_data.primitive_desc(dnnl.engine, algorithm.convolution_direct, src,
                                anyHalf(), dstBf16(), strides, dilates, pad, pad, halfHint());
                    } else {
                        pd = new convolution_backward_data.primitive_desc(dnnl.engine, algorithm.convolution_direct, src,
                                anyWeights, dst, strides, dilates, pad, pad, hint);
                    }
                    bwdDataWeights = keep(pd.weights_desc());
                    bwdDataReorder = bwdDataWeights.equals(plainWeights) ? null
                            : reorders.reorder("weights reorder for backward-data of " + key, plainWeights, bwdDataWeights);
                    return new Step("convolution backward-data " + key, dnnl, pd, new convolution_backward_data(pd),
                            new int[] {DNNL_ARG_DIFF_DST, DNNL_ARG_WEIGHTS, DNNL_ARG_DIFF_SRC},
                            new memory.desc[] {bwdDataHalf ? dstBf16 : dst, bwdDataWeights, src});
                });
            }
            return bwdData;
        }

        /**
         * Backward-weights. Under {@link Precision#BF16} x and dy are reordered to bf16 NHWC per call (as for the other
         * passes) and the gradient is F32, accumulated in F32 ({@code brgconv_bwd_w:avx10_1_512_amx} on this AMX
         * machine), as PyTorch's CPU autocast computes it; F32 operands ({@code jit:avx512_core},
         * {@code jit_1x1:avx512_core}) under FP32.
         *
         * <p>This pass used to stay F32 because the bf16 kernel measured 1.1-18x slower (64->64 3x3 at 56x56, batch 32:
         * 1546 vs 85 ms). {@code ConvBackwardWeightsProbe} (test scope) times the variants alternating within one run:
         * the slowness is not the kernel, nor the nhwc activation layout ({@code format_tag::any} for x and dy makes
         * oneDNN pick nhwc anyway), nor the F32 gradient (a bf16 one is no faster). With one OpenMP thread the bf16 kernel
         * including the two reorders took 0.2-0.35x the F32 time on the ResNet 3x3 shapes from 56x56 to 14x14 (0.6x at
         * 7x7), 0.76x on the 7x7 stem and 0.4-0.7x on 1x1 shapes at 28x28 and below, but 1.4-2.1x on the 1x1 shapes at
         * 56x56 (batch 8 and 16, a 2-core machine under load average 4-8, rough). With two threads on that loaded
         * machine the same bf16 call took anywhere from below F32's time to 30x above it (batch 16, 256->256 3x3 at
         * 14x14: 288-369 ms against 6-16 ms on one thread and 43-99 ms for F32 on two; 64->64 at 56x56: 39-2011 ms;
         * {@code OMP_WAIT_POLICY=passive} no better), while F32 stayed within about 2x: the short AMX kernel waits on
         * its other thread (barriers, the per-thread gradient reduction) far more often than the F32 kernel, and on an
         * oversubscribed machine each such wait can cost a scheduler slice. The old measurement was taken like that.
         * This explanation is a hypothesis: no quiet machine was available to confirm that two threads are fast there
         * (the probe with {@code OMP_NUM_THREADS=2} on a quiet machine decides it; if bf16 loses there, set
         * {@code bwdWeightsHalf} false and drop the rounding in the reference's {@code conv2dBackwardWeights}). One
         * rule for every shape keeps the oracle simple, so bf16 everywhere, the 1x1 shapes at 56x56 included.
         */
        Step backwardWeights() {
            if (bwdWeights == null) {
                bwdWeights = Dnnl.build("convolution backward-weights for " + key, () -> {
                    bwdWeightsHalf = key.precision() == Precision.BF16; // bf16 x and dy, f32 diff_weights
                    memory.desc bwSrc = bwdWeightsHalf ? srcBf16() : src;
                    memory.desc bwDst = bwdWeightsHalf ? dstBf16() : dst;
                    convolution_forward.primitive_desc bwHint = bwdWeightsHalf ? halfHint() : hint;
                    convolution_backward_weights.primitive_desc pd = new convolution_backward_weights.primitive_desc(
                            dnnl.engine, algorithm.convolution_direct, bwSrc, anyWeights, bwDst, strides, dilates, pad, pad, bwHint);
                    memory.desc chosen = keep(pd.diff_weights_desc());
                    if (!chosen.equals(plainWeights)) {
                        diffWeightsReorder = reorders.reorder("weight-gradient reorder for " + key, chosen, plainWeights);
                        diffWeightsScratch = new NativeMemory(chosen.get_size(), true);
                    }
                    return new Step("convolution backward-weights " + key, dnnl, pd, new convolution_backward_weights(pd),
                            new int[] {DNNL_ARG_SRC, DNNL_ARG_DIFF_DST, DNNL_ARG_DIFF_WEIGHTS},
                            new memory.desc[] {bwSrc, bwDst, chosen});
                });
            }
            return bwdWeights;
        }

        /** The weights in {@code layout}: the buffer itself when the primitive takes plain weights, else a cached copy. */
        Pointer weightsFor(NativeBuffer w, memory.desc layout, Step reorder) {
            return reorder == null ? w.pointer() : weights.get(w, layout, reorder);
        }

        private <T extends Pointer> T keep(T p) {
            p.retainReference();
            owned.add(p);
            return p;
        }

        @Override
        public void close() {
            for (Step st : new Step[] {fwd, fwdBias, bwdData, bwdWeights, fwdReorder, bwdDataReorder, diffWeightsReorder,
                    srcToBf16, dstToBf16, fwdHalfReorder}) {
                if (st != null) {
                    st.close();
                }
            }
            if (diffWeightsScratch != null) {
                diffWeightsScratch.close();
            }
            owned.forEach(Pointer::close);
        }
    }
}
