package dev.graft.engine.backend.cuda;

import dev.graft.engine.NativeException;
import dev.graft.engine.Shape;
import dev.graft.engine.backend.Conv2dSpec;
import org.bytedeco.cuda.cudnn.cudnnContext;
import org.bytedeco.cuda.cudnn.cudnnConvolutionBwdDataAlgoPerf_t;
import org.bytedeco.cuda.cudnn.cudnnConvolutionBwdFilterAlgoPerf_t;
import org.bytedeco.cuda.cudnn.cudnnConvolutionFwdAlgoPerf_t;
import org.bytedeco.cuda.cudnn.cudnnConvolutionStruct;
import org.bytedeco.cuda.cudnn.cudnnFilterStruct;
import org.bytedeco.javacpp.SizeTPointer;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import static org.bytedeco.cuda.global.cudnn.CUDNN_CROSS_CORRELATION;
import static org.bytedeco.cuda.global.cudnn.CUDNN_DATA_FLOAT;
import static org.bytedeco.cuda.global.cudnn.CUDNN_TENSOR_NCHW;
import static org.bytedeco.cuda.global.cudnn.cudnnAddTensor;
import static org.bytedeco.cuda.global.cudnn.cudnnConvolutionBackwardData;
import static org.bytedeco.cuda.global.cudnn.cudnnConvolutionBackwardFilter;
import static org.bytedeco.cuda.global.cudnn.cudnnConvolutionForward;
import static org.bytedeco.cuda.global.cudnn.cudnnCreateConvolutionDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnCreateFilterDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnDestroyConvolutionDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnDestroyFilterDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnGetConvolutionBackwardDataAlgorithmMaxCount;
import static org.bytedeco.cuda.global.cudnn.cudnnGetConvolutionBackwardDataAlgorithm_v7;
import static org.bytedeco.cuda.global.cudnn.cudnnGetConvolutionBackwardDataWorkspaceSize;
import static org.bytedeco.cuda.global.cudnn.cudnnGetConvolutionBackwardFilterAlgorithmMaxCount;
import static org.bytedeco.cuda.global.cudnn.cudnnGetConvolutionBackwardFilterAlgorithm_v7;
import static org.bytedeco.cuda.global.cudnn.cudnnGetConvolutionBackwardFilterWorkspaceSize;
import static org.bytedeco.cuda.global.cudnn.cudnnGetConvolutionForwardAlgorithmMaxCount;
import static org.bytedeco.cuda.global.cudnn.cudnnGetConvolutionForwardAlgorithm_v7;
import static org.bytedeco.cuda.global.cudnn.cudnnGetConvolutionForwardWorkspaceSize;
import static org.bytedeco.cuda.global.cudnn.cudnnSetConvolution2dDescriptor;
import static org.bytedeco.cuda.global.cudnn.cudnnSetConvolutionGroupCount;
import static org.bytedeco.cuda.global.cudnn.cudnnSetConvolutionMathType;
import static org.bytedeco.cuda.global.cudnn.cudnnSetFilter4dDescriptor;

/**
 * Convolution forward, backward-data and backward-filter through cuDNN's legacy API (the only class that makes
 * those calls, so a move to the graph API stays here). Layouts: x and y NCHW, weights OIHW = cuDNN's NCHW filter
 * layout, so torchvision weights need no transpose. Cross-correlation, as PyTorch.
 *
 * <p>Algorithms: chosen once per (pass, shapes, spec, math mode) with the {@code _v7} heuristics, which time
 * nothing and allocate nothing, so the first step is fast and the choice is the same on every run (PyTorch's
 * default, {@code cudnn.benchmark = False}). Of the ranked list we take the first algorithm that succeeds and
 * whose workspace fits {@value #LIMIT_PROPERTY} (MiB, default 1024). In exact mode the descriptor keeps
 * {@code CUDNN_FMA_MATH} whatever the heuristic's entry says, as PyTorch does with {@code allow_tf32 = False};
 * in fast mode it takes the entry's math type. If an algorithm then reports NOT_SUPPORTED, the next is tried
 * and cached instead. All passes share the backend's one growing {@link Workspace}.
 */
@SuppressWarnings("deprecation")
final class CudnnConvolution {
    static final String LIMIT_PROPERTY = "graft.cuda.workspaceLimitMiB";

    enum Pass { FORWARD, BACKWARD_DATA, BACKWARD_FILTER }

    record Key(Pass pass, Shape x, Shape w, Conv2dSpec spec, MathMode math) {
    }

    /** A cached decision: the algorithm, its workspace in bytes and the math type the descriptor gets. */
    record Choice(int algo, long workspace, int mathType) {
    }

    private record Candidate(int algo, int mathType) {
    }

    private final CudaContext ctx;
    private final Map<Key, Choice> cache = new ConcurrentHashMap<>();
    private final long workspaceLimit = Long.getLong(LIMIT_PROPERTY, 1024) << 20;

    CudnnConvolution(CudaContext ctx) {
        this.ctx = ctx;
    }

    /** y [N,K,P,Q] = conv(x [N,C,H,W], w [K,C/g,R,S]) (+ bias [K] when {@code bias != 0}). Addresses are device pointers. */
    void forward(long x, Shape xs, long w, Shape ws, long bias, long y, Conv2dSpec spec) {
        Handles h = ctx.handles();
        Shape ys = outputShape(xs, ws, spec);
        try (Descriptors d = new Descriptors(xs, ws, ys, spec, ctx.math)) {
            Key key = new Key(Pass.FORWARD, xs, ws, spec, ctx.math);
            execute(key, d, h, (algo, wsp, wsBytes) -> cudnnConvolutionForward(h.cudnn, ctx.one, d.x.desc, DevicePointer.of(x),
                    d.filter, DevicePointer.of(w), d.conv, algo, DevicePointer.of(wsp), wsBytes, ctx.zero, d.y.desc, DevicePointer.of(y)));
            if (bias != 0) {
                try (TensorDescriptor b = new TensorDescriptor(1, ys.dim(1), 1, 1)) {
                    // y = 1 * bias (broadcast over N, H, W) + 1 * y
                    CudaCheck.cudnn(cudnnAddTensor(h.cudnn, ctx.one, b.desc, DevicePointer.of(bias), ctx.one, d.y.desc, DevicePointer.of(y)),
                            "cudnnAddTensor(conv2d bias)");
                }
            }
        }
    }

    /** dx [N,C,H,W] from dy [N,K,P,Q] and w. */
    void backwardData(long dy, long w, Shape ws, long dx, Shape xs, Conv2dSpec spec) {
        Handles h = ctx.handles();
        try (Descriptors d = new Descriptors(xs, ws, outputShape(xs, ws, spec), spec, ctx.math)) {
            execute(new Key(Pass.BACKWARD_DATA, xs, ws, spec, ctx.math), d, h, (algo, wsp, wsBytes) ->
                    cudnnConvolutionBackwardData(h.cudnn, ctx.one, d.filter, DevicePointer.of(w), d.y.desc, DevicePointer.of(dy),
                            d.conv, algo, DevicePointer.of(wsp), wsBytes, ctx.zero, d.x.desc, DevicePointer.of(dx)));
        }
    }

    /** dw [K,C/g,R,S] (OIHW) from dy and x. */
    void backwardFilter(long dy, long x, Shape xs, long dw, Shape ws, Conv2dSpec spec) {
        Handles h = ctx.handles();
        try (Descriptors d = new Descriptors(xs, ws, outputShape(xs, ws, spec), spec, ctx.math)) {
            execute(new Key(Pass.BACKWARD_FILTER, xs, ws, spec, ctx.math), d, h, (algo, wsp, wsBytes) ->
                    cudnnConvolutionBackwardFilter(h.cudnn, ctx.one, d.x.desc, DevicePointer.of(x), d.y.desc, DevicePointer.of(dy),
                            d.conv, algo, DevicePointer.of(wsp), wsBytes, ctx.zero, d.filter, DevicePointer.of(dw)));
        }
    }

    static Shape outputShape(Shape xs, Shape ws, Conv2dSpec s) {
        return Shape.of(xs.dim(0), ws.dim(0),
                Conv2dSpec.outputSize(xs.dim(2), ws.dim(2), s.strideH(), s.padH(), s.dilationH()),
                Conv2dSpec.outputSize(xs.dim(3), ws.dim(3), s.strideW(), s.padW(), s.dilationW()));
    }

    /** Cached algorithm decisions so far (for tests and doctor). */
    Map<Key, Choice> choices() {
        return Map.copyOf(cache);
    }

    // ---- choosing and running ---------------------------------------------------------------------------

    private interface Call {
        int run(int algo, long workspace, long workspaceBytes);
    }

    private void execute(Key key, Descriptors d, Handles h, Call call) {
        Set<Integer> unsupported = new HashSet<>();
        while (true) {
            Choice c = cache.get(key);
            if (c == null) {
                c = choose(key.pass(), d, h.cudnn, unsupported);
                cache.put(key, c);
            }
            CudaCheck.cudnn(cudnnSetConvolutionMathType(d.conv, c.mathType()), "cudnnSetConvolutionMathType");
            int rc;
            synchronized (ctx.workspace) {
                rc = call.run(c.algo(), ctx.workspace.ensure(c.workspace()), c.workspace());
            }
            // 3000..3999: the CUDNN_STATUS_NOT_SUPPORTED family (cuDNN 9 numbering).
            if (rc >= 3000 && rc < 4000 && unsupported.add(c.algo())) {
                cache.remove(key);
                continue;
            }
            CudaCheck.cudnn(rc, "cudnnConvolution" + name(key.pass()) + " (algo " + c.algo() + ", x " + key.x() + ", w " + key.w()
                    + ", " + key.spec() + ")");
            return;
        }
    }

    private Choice choose(Pass pass, Descriptors d, cudnnContext h, Set<Integer> unsupported) {
        // The heuristics read the descriptor's math type: FMA in exact mode keeps TF32 kernels out of the list.
        CudaCheck.cudnn(cudnnSetConvolutionMathType(d.conv, ctx.math.cudnnMathType()), "cudnnSetConvolutionMathType");
        List<Candidate> ranked = heuristics(pass, d, h);
        try (SizeTPointer size = new SizeTPointer(1)) {
            for (Candidate c : ranked) {
                if (unsupported.contains(c.algo())) {
                    continue;
                }
                int math = ctx.math == MathMode.EXACT ? ctx.math.cudnnMathType() : c.mathType();
                CudaCheck.cudnn(cudnnSetConvolutionMathType(d.conv, math), "cudnnSetConvolutionMathType");
                int rc = switch (pass) {
                    case FORWARD -> cudnnGetConvolutionForwardWorkspaceSize(h, d.x.desc, d.filter, d.conv, d.y.desc, c.algo(), size);
                    case BACKWARD_DATA -> cudnnGetConvolutionBackwardDataWorkspaceSize(h, d.filter, d.y.desc, d.conv, d.x.desc, c.algo(), size);
                    case BACKWARD_FILTER -> cudnnGetConvolutionBackwardFilterWorkspaceSize(h, d.x.desc, d.y.desc, d.conv, d.filter, c.algo(), size);
                };
                if (rc == 0 && size.get() <= workspaceLimit) {
                    return new Choice(c.algo(), size.get(), math);
                }
            }
        }
        throw new NativeException("cudnnGetConvolution" + name(pass) + "Algorithm_v7 found no usable algorithm within the "
                + (workspaceLimit >> 20) + " MiB workspace limit (-D" + LIMIT_PROPERTY + ") for x " + d.xs + ", w " + d.ws + ", " + d.spec);
    }

    /** The heuristic's ranked list, keeping entries whose status is success. */
    private static List<Candidate> heuristics(Pass pass, Descriptors d, cudnnContext h) {
        int[] max = new int[1];
        int[] returned = new int[1];
        List<Candidate> out = new ArrayList<>();
        switch (pass) {
            case FORWARD -> {
                CudaCheck.cudnn(cudnnGetConvolutionForwardAlgorithmMaxCount(h, max), "cudnnGetConvolutionForwardAlgorithmMaxCount");
                try (cudnnConvolutionFwdAlgoPerf_t perf = new cudnnConvolutionFwdAlgoPerf_t(max[0])) {
                    CudaCheck.cudnn(cudnnGetConvolutionForwardAlgorithm_v7(h, d.x.desc, d.filter, d.conv, d.y.desc, max[0], returned, perf),
                            "cudnnGetConvolutionForwardAlgorithm_v7");
                    for (int i = 0; i < returned[0]; i++) {
                        perf.position(i);
                        if (perf.status() == 0) {
                            out.add(new Candidate(perf.algo(), perf.mathType()));
                        }
                    }
                    perf.position(0);
                }
            }
            case BACKWARD_DATA -> {
                CudaCheck.cudnn(cudnnGetConvolutionBackwardDataAlgorithmMaxCount(h, max), "cudnnGetConvolutionBackwardDataAlgorithmMaxCount");
                try (cudnnConvolutionBwdDataAlgoPerf_t perf = new cudnnConvolutionBwdDataAlgoPerf_t(max[0])) {
                    CudaCheck.cudnn(cudnnGetConvolutionBackwardDataAlgorithm_v7(h, d.filter, d.y.desc, d.conv, d.x.desc, max[0], returned, perf),
                            "cudnnGetConvolutionBackwardDataAlgorithm_v7");
                    for (int i = 0; i < returned[0]; i++) {
                        perf.position(i);
                        if (perf.status() == 0) {
                            out.add(new Candidate(perf.algo(), perf.mathType()));
                        }
                    }
                    perf.position(0);
                }
            }
            case BACKWARD_FILTER -> {
                CudaCheck.cudnn(cudnnGetConvolutionBackwardFilterAlgorithmMaxCount(h, max), "cudnnGetConvolutionBackwardFilterAlgorithmMaxCount");
                try (cudnnConvolutionBwdFilterAlgoPerf_t perf = new cudnnConvolutionBwdFilterAlgoPerf_t(max[0])) {
                    CudaCheck.cudnn(cudnnGetConvolutionBackwardFilterAlgorithm_v7(h, d.x.desc, d.y.desc, d.conv, d.filter, max[0], returned, perf),
                            "cudnnGetConvolutionBackwardFilterAlgorithm_v7");
                    for (int i = 0; i < returned[0]; i++) {
                        perf.position(i);
                        if (perf.status() == 0) {
                            out.add(new Candidate(perf.algo(), perf.mathType()));
                        }
                    }
                    perf.position(0);
                }
            }
            default -> throw new IllegalStateException(pass.toString());
        }
        return out;
    }

    private static String name(Pass pass) {
        return switch (pass) {
            case FORWARD -> "Forward";
            case BACKWARD_DATA -> "BackwardData";
            case BACKWARD_FILTER -> "BackwardFilter";
        };
    }

    /** The four descriptors of one call, destroyed together. */
    private static final class Descriptors implements AutoCloseable {
        final Shape xs;
        final Shape ws;
        final Conv2dSpec spec;
        final TensorDescriptor x;
        final TensorDescriptor y;
        final cudnnFilterStruct filter = new cudnnFilterStruct();
        final cudnnConvolutionStruct conv = new cudnnConvolutionStruct();

        Descriptors(Shape xs, Shape ws, Shape ys, Conv2dSpec spec, MathMode math) {
            this.xs = xs;
            this.ws = ws;
            this.spec = spec;
            this.x = new TensorDescriptor(xs.dim(0), xs.dim(1), xs.dim(2), xs.dim(3));
            TensorDescriptor yd = null;
            try {
                yd = new TensorDescriptor(ys.dim(0), ys.dim(1), ys.dim(2), ys.dim(3));
                CudaCheck.cudnn(cudnnCreateFilterDescriptor(filter), "cudnnCreateFilterDescriptor");
                CudaCheck.cudnn(cudnnSetFilter4dDescriptor(filter, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, ws.dim(0), ws.dim(1), ws.dim(2), ws.dim(3)),
                        "cudnnSetFilter4dDescriptor" + ws);
                CudaCheck.cudnn(cudnnCreateConvolutionDescriptor(conv), "cudnnCreateConvolutionDescriptor");
                CudaCheck.cudnn(cudnnSetConvolution2dDescriptor(conv, spec.padH(), spec.padW(), spec.strideH(), spec.strideW(),
                        spec.dilationH(), spec.dilationW(), CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT), "cudnnSetConvolution2dDescriptor(" + spec + ")");
                CudaCheck.cudnn(cudnnSetConvolutionGroupCount(conv, spec.groups()), "cudnnSetConvolutionGroupCount(" + spec.groups() + ")");
                CudaCheck.cudnn(cudnnSetConvolutionMathType(conv, math.cudnnMathType()), "cudnnSetConvolutionMathType");
            } catch (RuntimeException e) {
                this.y = yd;
                close();
                throw e;
            }
            this.y = yd;
        }

        @Override
        public void close() {
            if (!conv.isNull()) {
                CudaCheck.cudnn(cudnnDestroyConvolutionDescriptor(conv), "cudnnDestroyConvolutionDescriptor");
                conv.setNull();
            }
            if (!filter.isNull()) {
                CudaCheck.cudnn(cudnnDestroyFilterDescriptor(filter), "cudnnDestroyFilterDescriptor");
                filter.setNull();
            }
            if (y != null) {
                y.close();
            }
            x.close();
        }
    }
}
