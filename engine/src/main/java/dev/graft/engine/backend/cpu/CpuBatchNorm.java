package dev.graft.engine.backend.cpu;

import dev.graft.engine.DType;
import dev.graft.engine.Layout;
import dev.graft.engine.NDArray;
import dev.graft.engine.Shape;
import dev.graft.engine.backend.BatchNormGrads;
import dev.graft.engine.backend.BatchNormStats;
import org.bytedeco.dnnl.batch_normalization_backward;
import org.bytedeco.dnnl.batch_normalization_forward;
import org.bytedeco.dnnl.global.dnnl.normalization_flags;
import org.bytedeco.dnnl.global.dnnl.prop_kind;
import org.bytedeco.dnnl.memory;
import org.bytedeco.javacpp.Pointer;

import java.util.HashMap;
import java.util.Map;

import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_DST;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_SCALE;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_SHIFT;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_SRC;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DST;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_MEAN;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SCALE;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SHIFT;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SRC;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_VARIANCE;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_WORKSPACE;

/**
 * Batch norm over the channels of NHWC activations with oneDNN. Training forward returns the batch mean and
 * the biased variance (oneDNN divides by N*H*W, as the SPI wants); running statistics stay the caller's.
 * Inference and the fixed-statistics backward use {@code use_global_stats}, under which oneDNN treats mean
 * and variance as constants (dx = dy * gamma / sqrt(var + eps)). Flags combine as ints (the enum overloads
 * take one flag). Backward descriptors take the matching forward descriptor as their hint.
 */
final class CpuBatchNorm implements AutoCloseable {
    private static final int AFFINE = normalization_flags.use_scale.value | normalization_flags.use_shift.value;
    private static final int GLOBAL = AFFINE | normalization_flags.use_global_stats.value;
    private static final int AFFINE_RELU = AFFINE | normalization_flags.fuse_norm_relu.value;

    private enum Kind { TRAINING, TRAINING_RELU, INFERENCE, BACKWARD_BATCH, BACKWARD_BATCH_RELU, BACKWARD_FIXED }

    private record Key(Shape x, float eps, Kind kind) {
    }

    private final Dnnl dnnl;
    private final CpuBackend backend;
    private final CpuReorders reorders;
    private final Map<Key, Step> cache = new HashMap<>();
    /** Forward descriptors with use_global_stats, kept only as hints for the fixed-statistics backward. */
    private final Map<Key, batch_normalization_forward.primitive_desc> hints = new HashMap<>();

    CpuBatchNorm(Dnnl dnnl, CpuBackend backend, CpuReorders reorders) {
        this.dnnl = dnnl;
        this.backend = backend;
        this.reorders = reorders;
    }

    BatchNormStats training(NDArray x, NDArray gamma, NDArray beta, double eps) {
        Step step = step(new Key(x.shape(), (float) eps, Kind.TRAINING));
        NDArray xs = reorders.channelsLast(x, backend);
        Shape c = Shape.of(x.shape().dim(1));
        NDArray y = backend.empty(DType.F32, x.shape(), Layout.CHANNELS_LAST);
        NDArray mean = backend.empty(DType.F32, c, Layout.ROW_MAJOR);
        NDArray var = backend.empty(DType.F32, c, Layout.ROW_MAJOR);
        step.run(dnnl, ptr(xs), ptr(gamma), ptr(beta), ptr(y), ptr(mean), ptr(var));
        CpuReorders.release(xs, x);
        return new BatchNormStats(y, mean, var);
    }

    /**
     * relu(batch norm) with oneDNN's {@code fuse_norm_relu}: one pass, and a bit mask (the workspace, a buffer of the
     * current scope) for {@link #backwardRelu}. oneDNN's fused relu turns a NaN output into 0 where torch.relu keeps
     * it; an output is NaN only if the batch statistics or gamma and beta are not all finite (a NaN or infinity in a
     * channel makes its mean or variance non-finite; with finite statistics (x - mean) * gamma / sqrt(var + eps) + beta
     * can overflow to an infinity but never make a NaN), so those batches are redone unfused: the values are then
     * exactly {@link #training} followed by relu, always.
     */
    BatchNormStats trainingRelu(NDArray x, NDArray gamma, NDArray beta, double eps, CpuElementwise elementwise) {
        Step step = step(new Key(x.shape(), (float) eps, Kind.TRAINING_RELU));
        NDArray xs = reorders.channelsLast(x, backend);
        Shape c = Shape.of(x.shape().dim(1));
        NDArray y = backend.empty(DType.F32, x.shape(), Layout.CHANNELS_LAST);
        NDArray mean = backend.empty(DType.F32, c, Layout.ROW_MAJOR);
        NDArray var = backend.empty(DType.F32, c, Layout.ROW_MAJOR);
        NativeBuffer mask = new NativeBuffer(Math.toIntExact(Math.max(1, (step.bytes(6) + Float.BYTES - 1) / Float.BYTES)));
        step.run(dnnl, ptr(xs), ptr(gamma), ptr(beta), ptr(y), ptr(mean), ptr(var), mask.pointer());
        if (!allFinite(mean, var, gamma, beta)) {
            mask.close();
            step(new Key(x.shape(), (float) eps, Kind.TRAINING)).run(dnnl, ptr(xs), ptr(gamma), ptr(beta), ptr(y), ptr(mean), ptr(var));
            elementwise.reluInPlace(y);
            mask = null;
        }
        CpuReorders.release(xs, x);
        return new BatchNormStats(y, mean, var, mask);
    }

    private static boolean allFinite(NDArray... vectors) {
        for (NDArray v : vectors) {
            java.nio.FloatBuffer f = NativeBuffer.of(v).floats(0, v.numel());
            for (int i = 0; i < v.numel(); i++) {
                if (!Float.isFinite(f.get(i))) {
                    return false;
                }
            }
        }
        return true;
    }

    NDArray inference(NDArray x, NDArray gamma, NDArray beta, NDArray mean, NDArray var, double eps) {
        Step step = step(new Key(x.shape(), (float) eps, Kind.INFERENCE));
        NDArray xs = reorders.channelsLast(x, backend);
        NDArray y = backend.empty(DType.F32, x.shape(), Layout.CHANNELS_LAST);
        step.run(dnnl, ptr(xs), ptr(gamma), ptr(beta), ptr(mean), ptr(var), ptr(y));
        CpuReorders.release(xs, x);
        return y;
    }

    /**
     * oneDNN computes batch norm's backward in place (diff_src over diff_dst), so dx goes over dy's channels-last
     * copy when dy needed one, and over dy itself when the caller allows it ({@code overwriteDy}).
     */
    BatchNormGrads backward(NDArray dy, NDArray x, NDArray gamma, NDArray mean, NDArray var, double eps,
                            boolean batchStatistics, boolean needInput, boolean needParams, boolean overwriteDy) {
        return backward(batchStatistics ? Kind.BACKWARD_BATCH : Kind.BACKWARD_FIXED, null, dy, x, gamma, mean, var, eps,
                needInput, needParams, overwriteDy);
    }

    /** The backward of {@link #trainingRelu}: oneDNN masks dy with the workspace (exact zeros) inside the same pass. */
    BatchNormGrads backwardRelu(NDArray dy, NativeBuffer mask, NDArray x, NDArray gamma, NDArray mean, NDArray var, double eps,
                                boolean needInput, boolean needParams, boolean overwriteDy) {
        return backward(Kind.BACKWARD_BATCH_RELU, mask, dy, x, gamma, mean, var, eps, needInput, needParams, overwriteDy);
    }

    private BatchNormGrads backward(Kind kind, NativeBuffer mask, NDArray dy, NDArray x, NDArray gamma, NDArray mean,
                                    NDArray var, double eps, boolean needInput, boolean needParams, boolean overwriteDy) {
        if (!needInput && !needParams) {
            return new BatchNormGrads(null, null, null);
        }
        Step step = step(new Key(x.shape(), (float) eps, kind));
        NDArray xs = reorders.channelsLast(x, backend);
        NDArray dys = reorders.channelsLast(dy, backend);
        Shape c = Shape.of(x.shape().dim(1));
        // oneDNN's backward always writes dx, dgamma and dbeta (with backward_data it still expects the
        // gradient outputs its flags name); what nobody asked for goes to scratch freed at once.
        boolean inPlace = needInput && (dys.buffer() != dy.buffer() || overwriteDy);
        NDArray dx = !needInput ? null : inPlace ? dys : backend.empty(DType.F32, x.shape(), Layout.CHANNELS_LAST);
        NDArray dgamma = needParams ? backend.empty(DType.F32, c, Layout.ROW_MAJOR) : null;
        NDArray dbeta = needParams ? backend.empty(DType.F32, c, Layout.ROW_MAJOR) : null;
        NativeMemory scratch = needInput ? null : new NativeMemory((long) x.numel() * Float.BYTES);
        NativeMemory scratchParams = needParams ? null : new NativeMemory(2L * c.numel() * Float.BYTES);
        try {
            Pointer dxp = needInput ? ptr(dx) : scratch.pointer();
            Pointer dgp = needParams ? ptr(dgamma) : scratchParams.pointer();
            Pointer dbp = needParams ? ptr(dbeta) : scratchParams.pointer().getPointer(c.numel());
            if (mask == null) {
                step.run(dnnl, ptr(xs), ptr(mean), ptr(var), ptr(dys), ptr(gamma), dxp, dgp, dbp);
            } else {
                step.run(dnnl, ptr(xs), ptr(mean), ptr(var), ptr(dys), ptr(gamma), dxp, dgp, dbp, mask.pointer());
            }
        } finally {
            if (scratch != null) {
                scratch.close();
            }
            if (scratchParams != null) {
                scratchParams.close();
            }
            CpuReorders.release(xs, x);
            if (!inPlace) {
                CpuReorders.release(dys, dy);
            }
        }
        return new BatchNormGrads(dx, dgamma, dbeta);
    }

    private static Pointer ptr(NDArray a) {
        return NativeBuffer.of(a).pointer();
    }

    private Step step(Key k) {
        Step s = cache.get(k);
        if (s == null) {
            s = Dnnl.build("batch normalization " + k.kind() + " for " + k.x(), () -> build(k));
            cache.put(k, s);
        }
        return s;
    }

    private Step build(Key k) {
        String what = "batch normalization " + k.kind() + " " + k.x();
        long[] d = Dnnl.dims(k.x());
        memory.desc data = Dnnl.nhwc(d);
        memory.desc vec = Dnnl.plain(new long[] {d[1]});
        switch (k.kind()) {
            case TRAINING -> {
                var pd = new batch_normalization_forward.primitive_desc(dnnl.engine, prop_kind.forward_training.value,
                        data, data, k.eps(), AFFINE);
                return new Step(what, dnnl, pd, new batch_normalization_forward(pd),
                        new int[] {DNNL_ARG_SRC, DNNL_ARG_SCALE, DNNL_ARG_SHIFT, DNNL_ARG_DST, DNNL_ARG_MEAN, DNNL_ARG_VARIANCE},
                        new memory.desc[] {data, vec, vec, data, vec, vec});
            }
            case TRAINING_RELU -> {
                var pd = new batch_normalization_forward.primitive_desc(dnnl.engine, prop_kind.forward_training.value,
                        data, data, k.eps(), AFFINE_RELU);
                return new Step(what, dnnl, pd, new batch_normalization_forward(pd),
                        new int[] {DNNL_ARG_SRC, DNNL_ARG_SCALE, DNNL_ARG_SHIFT, DNNL_ARG_DST, DNNL_ARG_MEAN, DNNL_ARG_VARIANCE,
                                DNNL_ARG_WORKSPACE},
                        new memory.desc[] {data, vec, vec, data, vec, vec, pd.workspace_desc()});
            }
            case BACKWARD_BATCH_RELU -> {
                var hint = (batch_normalization_forward.primitive_desc) step(new Key(k.x(), k.eps(), Kind.TRAINING_RELU)).pd;
                var pd = new batch_normalization_backward.primitive_desc(dnnl.engine, prop_kind.backward.value, data, data,
                        data, k.eps(), AFFINE_RELU, hint);
                return new Step(what, dnnl, pd, new batch_normalization_backward(pd),
                        new int[] {DNNL_ARG_SRC, DNNL_ARG_MEAN, DNNL_ARG_VARIANCE, DNNL_ARG_DIFF_DST, DNNL_ARG_SCALE,
                                DNNL_ARG_DIFF_SRC, DNNL_ARG_DIFF_SCALE, DNNL_ARG_DIFF_SHIFT, DNNL_ARG_WORKSPACE},
                        new memory.desc[] {data, vec, vec, data, vec, data, vec, vec, hint.workspace_desc()});
            }
            case INFERENCE -> {
                var pd = new batch_normalization_forward.primitive_desc(dnnl.engine, prop_kind.forward_inference.value,
                        data, data, k.eps(), GLOBAL);
                return new Step(what, dnnl, pd, new batch_normalization_forward(pd),
                        new int[] {DNNL_ARG_SRC, DNNL_ARG_SCALE, DNNL_ARG_SHIFT, DNNL_ARG_MEAN, DNNL_ARG_VARIANCE, DNNL_ARG_DST},
                        new memory.desc[] {data, vec, vec, vec, vec, data});
            }
            default -> {
                boolean batch = k.kind() == Kind.BACKWARD_BATCH;
                batch_normalization_forward.primitive_desc hint = batch
                        ? (batch_normalization_forward.primitive_desc) step(new Key(k.x(), k.eps(), Kind.TRAINING)).pd
                        : fixedHint(k, data);
                var pd = new batch_normalization_backward.primitive_desc(dnnl.engine, prop_kind.backward.value, data, data,
                        data, k.eps(), batch ? AFFINE : GLOBAL, hint);
                return new Step(what, dnnl, pd, new batch_normalization_backward(pd),
                        new int[] {DNNL_ARG_SRC, DNNL_ARG_MEAN, DNNL_ARG_VARIANCE, DNNL_ARG_DIFF_DST, DNNL_ARG_SCALE,
                                DNNL_ARG_DIFF_SRC, DNNL_ARG_DIFF_SCALE, DNNL_ARG_DIFF_SHIFT},
                        new memory.desc[] {data, vec, vec, data, vec, data, vec, vec});
            }
        }
    }

    private batch_normalization_forward.primitive_desc fixedHint(Key k, memory.desc data) {
        return hints.computeIfAbsent(new Key(k.x(), k.eps(), Kind.INFERENCE), h -> {
            var pd = new batch_normalization_forward.primitive_desc(dnnl.engine, prop_kind.forward_training.value,
                    data, data, k.eps(), GLOBAL);
            pd.retainReference();
            return pd;
        });
    }

    @Override
    public void close() {
        cache.values().forEach(Step::close);
        cache.clear();
        hints.values().forEach(Pointer::close);
        hints.clear();
    }
}
