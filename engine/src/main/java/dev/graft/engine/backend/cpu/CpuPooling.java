package dev.graft.engine.backend.cpu;

import dev.graft.engine.DType;
import dev.graft.engine.Layout;
import dev.graft.engine.NDArray;
import dev.graft.engine.Shape;
import dev.graft.engine.backend.AvgPool2dSpec;
import dev.graft.engine.backend.Buffer;
import dev.graft.engine.backend.Conv2dSpec;
import dev.graft.engine.backend.Pool2dSpec;
import dev.graft.engine.backend.Pooled;
import org.bytedeco.dnnl.global.dnnl.algorithm;
import org.bytedeco.dnnl.global.dnnl.prop_kind;
import org.bytedeco.dnnl.memory;
import org.bytedeco.dnnl.pooling_backward;
import org.bytedeco.dnnl.pooling_forward;

import java.util.HashMap;
import java.util.Map;

import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_DST;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DIFF_SRC;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_DST;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_SRC;
import static org.bytedeco.dnnl.global.dnnl.DNNL_ARG_WORKSPACE;

/**
 * Max pooling, average pooling with padding and global average pooling on NHWC activations with oneDNN. Average
 * pooling maps torch's {@code count_include_pad} True / False onto oneDNN's pooling_avg_include_padding /
 * pooling_avg_exclude_padding, whose divisors are torch's when ceil_mode is off (the window never leaves the padded
 * input). Max pooling in training keeps
 * oneDNN's workspace (which element won each window) for the backward pass; oneDNN breaks ties towards the
 * first maximum in scan order, as PyTorch. Inputs holding NaN or infinities go to {@link MaxPoolExact},
 * because oneDNN's kernel neither propagates NaN nor returns -inf; whether x holds any is read from its
 * {@link ValueBounds} (recorded by the kernel that made it, else a scan), and the output gets x's bound. Note
 * oneDNN's argument order: strides before kernel; its dilation counts from 0.
 */
final class CpuPooling implements AutoCloseable {
    private enum Kind { MAX_TRAINING, MAX_INFERENCE, MAX_BACKWARD, AVG_FORWARD, AVG_BACKWARD }

    private record Key(Shape x, Pool2dSpec spec, Kind kind) {
    }

    private final Dnnl dnnl;
    private final CpuBackend backend;
    private final CpuReorders reorders;
    private final ValueBounds bounds;
    private final Map<Key, Step> cache = new HashMap<>();

    private record AvgKey(Shape x, AvgPool2dSpec spec, boolean backward) {
    }

    private final Map<AvgKey, Step> avgCache = new HashMap<>();

    CpuPooling(Dnnl dnnl, CpuBackend backend, CpuReorders reorders, ValueBounds bounds) {
        this.dnnl = dnnl;
        this.backend = backend;
        this.reorders = reorders;
        this.bounds = bounds;
    }

    Pooled maxForward(NDArray x, Pool2dSpec spec, boolean training) {
        NDArray xs = reorders.channelsLast(x, backend);
        Shape ys = Shape.of(x.shape().dim(0), x.shape().dim(1),
                Conv2dSpec.outputSize(x.shape().dim(2), spec.kernelH(), spec.strideH(), spec.padH(), 1),
                Conv2dSpec.outputSize(x.shape().dim(3), spec.kernelW(), spec.strideW(), spec.padW(), 1));
        NDArray y = backend.empty(DType.F32, ys, Layout.CHANNELS_LAST);
        PoolWorkspace ws = null;
        double bound = bounds.of(x); // a scan, unless the kernel that made x recorded a bound
        if (!(bound < Double.POSITIVE_INFINITY)) {
            if (training) {
                ws = new PoolWorkspace(PoolWorkspace.Kind.ARGMAX, (long) ys.numel() * Integer.BYTES);
            }
            MaxPoolExact.forward(xs, y, spec, ws == null ? null : ws.ints(0, ys.numel()));
        } else {
            Step step = step(new Key(x.shape(), spec, training ? Kind.MAX_TRAINING : Kind.MAX_INFERENCE));
            if (training) {
                ws = new PoolWorkspace(PoolWorkspace.Kind.ONEDNN, step.bytes(2));
                step.run(dnnl, NativeBuffer.of(xs).pointer(), NativeBuffer.of(y).pointer(), ws.pointer());
            } else {
                step.run(dnnl, NativeBuffer.of(xs).pointer(), NativeBuffer.of(y).pointer());
            }
        }
        CpuReorders.release(xs, x);
        bounds.record(y, bound); // the maximum of values within the bound (ignored when not finite)
        return new Pooled(y, ws);
    }

    NDArray maxBackward(NDArray dy, NDArray x, Pooled forward, Pool2dSpec spec) {
        Buffer saved = forward.workspace();
        if (!(saved instanceof PoolWorkspace ws)) {
            // Forward ran without training (or elsewhere): redo it with the exact path to learn the winners.
            NDArray xs = reorders.channelsLast(x, backend);
            PoolWorkspace argmax = new PoolWorkspace(PoolWorkspace.Kind.ARGMAX, (long) dy.numel() * Integer.BYTES);
            NDArray scratch = backend.empty(DType.F32, dy.shape(), Layout.CHANNELS_LAST);
            MaxPoolExact.forward(xs, scratch, spec, argmax.ints(0, dy.numel()));
            scratch.buffer().close();
            CpuReorders.release(xs, x);
            NDArray dx = backward(dy, x, spec, argmax);
            argmax.close();
            return dx;
        }
        return backward(dy, x, spec, ws);
    }

    private NDArray backward(NDArray dy, NDArray x, Pool2dSpec spec, PoolWorkspace ws) {
        ws.checkOpen();
        NDArray dys = reorders.channelsLast(dy, backend);
        NDArray dx = backend.empty(DType.F32, x.shape(), Layout.CHANNELS_LAST);
        if (ws.kind == PoolWorkspace.Kind.ARGMAX) {
            MaxPoolExact.backward(dys, dx, ws.ints(0, dy.numel()));
        } else {
            step(new Key(x.shape(), spec, Kind.MAX_BACKWARD)).run(dnnl, NativeBuffer.of(dys).pointer(), ws.pointer(),
                    NativeBuffer.of(dx).pointer());
        }
        CpuReorders.release(dys, dy);
        return dx;
    }

    NDArray avgForward(NDArray x, AvgPool2dSpec spec) {
        NDArray xs = reorders.channelsLast(x, backend);
        Shape s = x.shape();
        NDArray y = backend.empty(DType.F32, Shape.of(s.dim(0), s.dim(1),
                Conv2dSpec.outputSize(s.dim(2), spec.kernelH(), spec.strideH(), spec.padH(), 1),
                Conv2dSpec.outputSize(s.dim(3), spec.kernelW(), spec.strideW(), spec.padW(), 1)), Layout.CHANNELS_LAST);
        avgStep(new AvgKey(s, spec, false)).run(dnnl, NativeBuffer.of(xs).pointer(), NativeBuffer.of(y).pointer());
        CpuReorders.release(xs, x);
        return y;
    }

    NDArray avgBackward(NDArray dy, Shape xShape, AvgPool2dSpec spec) {
        NDArray dys = reorders.channelsLast(dy, backend);
        NDArray dx = backend.empty(DType.F32, xShape, Layout.CHANNELS_LAST);
        avgStep(new AvgKey(xShape, spec, true)).run(dnnl, NativeBuffer.of(dys).pointer(), NativeBuffer.of(dx).pointer());
        CpuReorders.release(dys, dy);
        return dx;
    }

    private Step avgStep(AvgKey k) {
        Step s = avgCache.get(k);
        if (s == null) {
            String what = "average pooling " + (k.backward() ? "backward" : "forward") + " for " + k.x() + " " + k.spec();
            s = Dnnl.build(what, () -> buildAvg(k, what));
            avgCache.put(k, s);
        }
        return s;
    }

    private Step buildAvg(AvgKey k, String what) {
        AvgPool2dSpec p = k.spec();
        long[] xd = Dnnl.dims(k.x());
        long[] kernel = {p.kernelH(), p.kernelW()};
        long[] strides = {p.strideH(), p.strideW()};
        long[] pad = {p.padH(), p.padW()};
        long[] dilation = {0, 0};
        long[] yd = {xd[0], xd[1], (xd[2] + 2 * pad[0] - kernel[0]) / strides[0] + 1, (xd[3] + 2 * pad[1] - kernel[1]) / strides[1] + 1};
        memory.desc src = Dnnl.nhwc(xd);
        memory.desc dst = Dnnl.nhwc(yd);
        algorithm alg = p.countIncludePad() ? algorithm.pooling_avg_include_padding : algorithm.pooling_avg_exclude_padding;
        var fwd = new pooling_forward.primitive_desc(dnnl.engine, prop_kind.forward_training, alg, src, dst, strides, kernel,
                dilation, pad, pad);
        if (!k.backward()) {
            return new Step(what, dnnl, fwd, new pooling_forward(fwd), new int[] {DNNL_ARG_SRC, DNNL_ARG_DST}, new memory.desc[] {src, dst});
        }
        var bwd = new pooling_backward.primitive_desc(dnnl.engine, alg, src, dst, strides, kernel, dilation, pad, pad, fwd);
        return new Step(what, dnnl, bwd, new pooling_backward(bwd), new int[] {DNNL_ARG_DIFF_DST, DNNL_ARG_DIFF_SRC},
                new memory.desc[] {dst, src});
    }

    /** Mean over H and W: [N,C,H,W] -> [N,C,1,1]. */
    NDArray globalAvgForward(NDArray x) {
        NDArray xs = reorders.channelsLast(x, backend);
        Shape s = x.shape();
        NDArray y = backend.empty(DType.F32, Shape.of(s.dim(0), s.dim(1), 1, 1), Layout.CHANNELS_LAST);
        step(new Key(s, null, Kind.AVG_FORWARD)).run(dnnl, NativeBuffer.of(xs).pointer(), NativeBuffer.of(y).pointer());
        CpuReorders.release(xs, x);
        return y;
    }

    NDArray globalAvgBackward(NDArray dy, Shape xShape) {
        // dy is [N,C,1,1]: its row-major and channels-last orders coincide.
        NDArray dx = backend.empty(DType.F32, xShape, Layout.CHANNELS_LAST);
        step(new Key(xShape, null, Kind.AVG_BACKWARD)).run(dnnl, NativeBuffer.of(dy).pointer(), NativeBuffer.of(dx).pointer());
        return dx;
    }

    private Step step(Key k) {
        Step s = cache.get(k);
        if (s == null) {
            s = Dnnl.build("pooling " + k.kind() + " for " + k.x() + " " + k.spec(), () -> build(k));
            cache.put(k, s);
        }
        return s;
    }

    private Step build(Key k) {
        String what = "pooling " + k.kind() + " " + k.x() + (k.spec() == null ? "" : " " + k.spec());
        long[] xd = Dnnl.dims(k.x());
        boolean max = k.spec() != null;
        long[] kernel = max ? new long[] {k.spec().kernelH(), k.spec().kernelW()} : new long[] {xd[2], xd[3]};
        long[] strides = max ? new long[] {k.spec().strideH(), k.spec().strideW()} : new long[] {1, 1};
        long[] pad = max ? new long[] {k.spec().padH(), k.spec().padW()} : new long[] {0, 0};
        long[] dilation = {0, 0};
        long[] yd = {xd[0], xd[1], (xd[2] + 2 * pad[0] - kernel[0]) / strides[0] + 1, (xd[3] + 2 * pad[1] - kernel[1]) / strides[1] + 1};
        memory.desc src = Dnnl.nhwc(xd);
        memory.desc dst = Dnnl.nhwc(yd);
        algorithm alg = max ? algorithm.pooling_max : algorithm.pooling_avg_exclude_padding;
        prop_kind prop = k.kind() == Kind.MAX_INFERENCE ? prop_kind.forward_inference : prop_kind.forward_training;
        var fwd = new pooling_forward.primitive_desc(dnnl.engine, prop, alg, src, dst, strides, kernel, dilation, pad, pad);
        switch (k.kind()) {
            case MAX_TRAINING -> {
                return new Step(what, dnnl, fwd, new pooling_forward(fwd), new int[] {DNNL_ARG_SRC, DNNL_ARG_DST, DNNL_ARG_WORKSPACE},
                        new memory.desc[] {src, dst, fwd.workspace_desc()});
            }
            case MAX_INFERENCE, AVG_FORWARD -> {
                return new Step(what, dnnl, fwd, new pooling_forward(fwd), new int[] {DNNL_ARG_SRC, DNNL_ARG_DST},
                        new memory.desc[] {src, dst});
            }
            default -> {
                var bwd = new pooling_backward.primitive_desc(dnnl.engine, alg, src, dst, strides, kernel, dilation, pad, pad, fwd);
                return max
                        ? new Step(what, dnnl, bwd, new pooling_backward(bwd),
                                new int[] {DNNL_ARG_DIFF_DST, DNNL_ARG_WORKSPACE, DNNL_ARG_DIFF_SRC},
                                new memory.desc[] {dst, fwd.workspace_desc(), src})
                        : new Step(what, dnnl, bwd, new pooling_backward(bwd), new int[] {DNNL_ARG_DIFF_DST, DNNL_ARG_DIFF_SRC},
                                new memory.desc[] {dst, src});
            }
        }
    }

    @Override
    public void close() {
        cache.values().forEach(Step::close);
        cache.clear();
        avgCache.values().forEach(Step::close);
        avgCache.clear();
    }
}
