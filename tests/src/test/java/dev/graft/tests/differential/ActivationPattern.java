package dev.graft.tests.differential;

import dev.graft.engine.DType;
import dev.graft.engine.Device;
import dev.graft.engine.NDArray;
import dev.graft.engine.Shape;
import dev.graft.engine.backend.Backend;
import dev.graft.engine.backend.BackendInterceptor;
import dev.graft.engine.backend.BatchNormStats;
import dev.graft.engine.backend.Buffer;
import dev.graft.engine.backend.Conv2dSpec;
import dev.graft.engine.backend.Pool2dSpec;
import dev.graft.engine.backend.Pooled;
import dev.graft.engine.backend.reference.ReferenceBackend;

import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * The piecewise-linear piece a network's forward pass landed on: which elements each relu let through and which
 * element each max-pooling window chose. A ResNet is a piecewise-smooth function of its input and weights; where an
 * F64 pre-activation lies within float32 rounding of 0 (or two pooled values within rounding of each other), an F32
 * run may fall on the neighbouring piece, and its gradient is then the gradient of a different function: right for
 * that piece, far from F64's. Such a draw says nothing about the kernels, so the differential harness records the
 * piece the run under test chose ({@link #record}) and replays the reference runs on that same piece
 * ({@link #replay}): relu outputs become {@code mask ? pre-activation : 0}, pooling outputs the recorded window
 * element, and the backward passes follow the same masks and argmaxes.
 *
 * <p>Adopting a piece must not hide a bug (a relu that zeroes a positive value would otherwise be copied into the
 * reference). So the replay checks every disagreement between the recorded piece and the reference's own: a flipped
 * relu element's F64 pre-activation, and a moved argmax's value gap, must lie within {@code FLIP_BAND} times the
 * largest difference between the recorded output and the replayed one over the whole tensor (the rounding the run
 * under test actually showed there), else the replay fails naming the op, the element and the values.
 */
final class ActivationPattern {
    /**
     * A flipped element's own error is at least |pre-activation| (its sign changed), and it is one element of a tensor
     * whose largest observed error is {@code d}: a flip is plausible rounding when |pre| <= 2 d. Measured on the issue's
     * resnet34 case: flips at |pre| ~ 0.3 d.
     */
    static final double FLIP_BAND = 2;

    /** One recorded kink op: its kernel, output shape, the outputs the run under test computed, and its choice. */
    private record Event(String kernel, Shape shape, double[] output, boolean[] mask, int[] argmax) {
    }

    private final List<Event> events = new ArrayList<>();
    private final List<String> flips = new ArrayList<>();

    int events() {
        return events.size();
    }

    /** Relu elements and argmaxes that F64 on its own would have put on the other piece, with their margins. */
    List<String> flips() {
        return List.copyOf(flips);
    }

    // ---- recording ---------------------------------------------------------------------------------------------

    /** Records the kink ops of every kernel call on {@code device} until closed. */
    static Recorder record(Device device) {
        return Recorder.on(device, new ActivationPattern());
    }

    static final class Recorder extends BackendInterceptor {
        private final ActivationPattern pattern;

        private Recorder(ActivationPattern pattern) {
            this.pattern = pattern;
        }

        static Recorder on(Device device, ActivationPattern pattern) {
            return install(device, new Recorder(pattern));
        }

        ActivationPattern pattern() {
            return pattern;
        }

        @Override
        protected Object intercept(Method kernel, Object[] args, Call call) throws Throwable {
            String name = kernel.getName();
            double[] poolInput = name.equals("maxPool2d") ? host((NDArray) args[0]) : null;
            Object r = call.proceed();
            switch (name) {
                case "relu", "addRelu" -> pattern.addRelu(name, (NDArray) r);
                case "reluInPlace" -> pattern.addRelu(name, (NDArray) args[0]);
                case "batchNormTrainingRelu" -> pattern.addRelu(name, ((BatchNormStats) r).output());
                case "conv2dInference" -> {
                    if ((Boolean) args[4]) {
                        pattern.addRelu(name, (NDArray) r);
                    }
                }
                case "maxPool2d" -> {
                    NDArray x = (NDArray) args[0];
                    NDArray y = ((Pooled) r).output();
                    double[] yv = host(y);
                    pattern.events.add(new Event(name, y.shape(), yv, null,
                            firstMaxima(x.shape(), poolInput, yv, (Pool2dSpec) args[1])));
                }
                default -> {
                }
            }
            return r;
        }
    }

    private void addRelu(String kernel, NDArray y) {
        double[] v = host(y);
        boolean[] mask = new boolean[v.length];
        for (int i = 0; i < v.length; i++) {
            mask[i] = v[i] > 0;
        }
        events.add(new Event(kernel, y.shape(), v, mask, null));
    }

    /** For each output element, the flat input index of the first window element equal to it (PyTorch's rule). */
    private static int[] firstMaxima(Shape xs, double[] x, double[] y, Pool2dSpec p) {
        int n = xs.dim(0), c = xs.dim(1), h = xs.dim(2), w = xs.dim(3);
        int ho = Conv2dSpec.outputSize(h, p.kernelH(), p.strideH(), p.padH(), 1);
        int wo = Conv2dSpec.outputSize(w, p.kernelW(), p.strideW(), p.padW(), 1);
        int[] arg = new int[y.length];
        for (int plane = 0; plane < n * c; plane++) {
            for (int oh = 0; oh < ho; oh++) {
                for (int ow = 0; ow < wo; ow++) {
                    int o = (plane * ho + oh) * wo + ow;
                    arg[o] = -1;
                    for (int kh = 0; kh < p.kernelH() && arg[o] < 0; kh++) {
                        int ih = oh * p.strideH() - p.padH() + kh;
                        for (int kw = 0; kw < p.kernelW() && ih >= 0 && ih < h; kw++) {
                            int iw = ow * p.strideW() - p.padW() + kw;
                            int i = (plane * h + ih) * w + iw;
                            if (iw >= 0 && iw < w && x[i] == y[o]) {
                                arg[o] = i;
                                break;
                            }
                        }
                    }
                    if (arg[o] < 0) {
                        throw new AssertionError("max pooling output " + o + " = " + y[o] + " is no element of its window");
                    }
                }
            }
        }
        return arg;
    }

    // ---- replay ------------------------------------------------------------------------------------------------

    /** Makes the reference backend follow this pattern, in call order, until closed. */
    Replayer replay() {
        return Replayer.on(this, null);
    }

    /** As {@link #replay()}, with every summing kernel's output moved by float32-sized rounding ({@link RoundingPerturbation}). */
    Replayer replayPerturbed(long seed) {
        return Replayer.on(this, new RoundingPerturbation(Replayer.RAW, seed));
    }

    static final class Replayer extends BackendInterceptor {
        /** The reference kernels themselves, for the pre-activations (calls on it are not intercepted). */
        private static final Backend RAW = new ReferenceBackend();

        private final ActivationPattern pattern;
        private final RoundingPerturbation perturbation;
        /** Host masks by output buffer: arrays made during the forward may belong to a block's inner scope. */
        private final Map<Buffer, double[]> masks = new IdentityHashMap<>();
        private final Map<Buffer, int[]> argmaxes = new IdentityHashMap<>();
        private int next;

        private Replayer(ActivationPattern pattern, RoundingPerturbation perturbation) {
            this.pattern = pattern;
            this.perturbation = perturbation;
        }

        static Replayer on(ActivationPattern pattern, RoundingPerturbation perturbation) {
            return install(Device.REFERENCE, new Replayer(pattern, perturbation));
        }

        /** The pre-activation of a kink op, moved by rounding in a perturbed replay. */
        private double[] perturbed(String kernel, Object[] args, double[] pre) {
            return perturbation == null ? pre : perturbation.perturb(kernel, args, pre);
        }

        /** Every recorded kink op was replayed. */
        void checkComplete() {
            if (next != pattern.events.size()) {
                throw new AssertionError("the replay ran " + next + " kink ops, the recorded run " + pattern.events.size());
            }
        }

        @Override
        protected Object intercept(Method kernel, Object[] args, Call call) throws Throwable {
            String name = kernel.getName();
            switch (name) {
                case "relu" -> {
                    double[] pre = host((NDArray) args[0]);
                    return force(name, (NDArray) call.proceed(), pre);
                }
                case "reluInPlace" -> {
                    NDArray x = (NDArray) args[0];
                    double[] pre = host(x);
                    call.proceed();
                    force(name, x, pre);
                    return null;
                }
                case "addRelu" -> {
                    double[] pre = host(RAW.add((NDArray) args[0], (NDArray) args[1]));
                    return force(name, (NDArray) call.proceed(), pre);
                }
                case "batchNormTrainingRelu" -> {
                    double[] pre = perturbed(name, args, host(RAW.batchNormTraining((NDArray) args[0], (NDArray) args[1],
                            (NDArray) args[2], (Double) args[3]).output()));
                    BatchNormStats s = (BatchNormStats) call.proceed();
                    force(name, s.output(), pre);
                    return s;
                }
                case "conv2dInference" -> {
                    if (!(Boolean) args[4]) {
                        NDArray y = (NDArray) call.proceed();
                        if (perturbation != null) {
                            overwrite(y, perturbation.perturb(name, args, host(y)));
                        }
                        return y;
                    }
                    double[] pre = perturbed(name, args, host(RAW.conv2dInference((NDArray) args[0], (NDArray) args[1],
                            (NDArray) args[2], (NDArray) args[3], false, (Conv2dSpec) args[5], null)));
                    return force(name, (NDArray) call.proceed(), pre);
                }
                case "conv2d", "conv2dBackwardData", "conv2dBackwardWeights", "gemm", "avgPool2d", "avgPool2dBackward", "gelu",
                     "batchedGemm", "softmax", "softmaxBackward", "indexSelectBackward" -> {
                    NDArray y = (NDArray) call.proceed();
                    if (perturbation != null) {
                        overwrite(y, perturbation.perturb(name, args, host(y)));
                    }
                    return y;
                }
                case "batchNormTraining", "layerNorm" -> {
                    BatchNormStats st = (BatchNormStats) call.proceed();
                    if (perturbation != null) {
                        overwrite(st.output(), perturbation.perturb(name, args, host(st.output())));
                    }
                    return st;
                }
                case "maxPool2d" -> {
                    double[] x = host((NDArray) args[0]);
                    Pooled p = (Pooled) call.proceed();
                    Event e = take(name, p.output().shape());
                    double[] own = host(p.output());
                    double[] forced = new double[e.argmax().length];
                    for (int o = 0; o < forced.length; o++) {
                        forced[o] = x[e.argmax()[o]];
                    }
                    pattern.checkPooling(e, own, forced, p.output().dtype() == DType.F64 && perturbation == null);
                    overwrite(p.output(), forced);
                    argmaxes.put(((NDArray) args[0]).buffer(), e.argmax());
                    return p;
                }
                case "reluBackward", "batchNormReluBackward" -> {
                    NDArray y = (NDArray) args[1];
                    double[] mask = masks.get(y.buffer());
                    if (mask == null) {
                        throw new AssertionError(name + " of an output the pattern did not produce");
                    }
                    args[1] = RAW.fromHost(mask, y.shape(), y.dtype()); // y > 0 exactly where the recorded run let it through
                    return call.proceed();
                }
                case "maxPool2dBackward" -> {
                    int[] arg = argmaxes.get(((NDArray) args[1]).buffer());
                    if (arg == null) {
                        throw new AssertionError("max pooling backward of an input the pattern did not pool");
                    }
                    double[] dy = host((NDArray) args[0]);
                    NDArray dx = (NDArray) call.proceed();
                    double[] g = new double[dx.numel()];
                    for (int o = 0; o < dy.length; o++) {
                        g[arg[o]] += dy[o];
                    }
                    overwrite(dx, g);
                    return dx;
                }
                default -> {
                    return call.proceed();
                }
            }
        }

        private Event take(String kernel, Shape shape) {
            if (next >= pattern.events.size()) {
                throw new AssertionError("the replay ran more kink ops than the recorded run (" + kernel + " " + shape + ")");
            }
            Event e = pattern.events.get(next++);
            if (!e.kernel().equals(kernel) && !(isRelu(kernel) && isRelu(e.kernel())) || !e.shape().equals(shape)) {
                throw new AssertionError("kink op " + (next - 1) + ": recorded " + e.kernel() + " " + e.shape()
                        + ", replayed " + kernel + " " + shape);
            }
            return e;
        }

        private static boolean isRelu(String kernel) {
            return !kernel.equals("maxPool2d");
        }

        /** Overwrites the relu op's output {@code y} with the recorded piece and remembers its mask for the backward. */
        private NDArray force(String kernel, NDArray y, double[] pre) {
            Event e = take(kernel, y.shape());
            double[] forced = new double[pre.length];
            double[] maskValues = new double[pre.length];
            for (int i = 0; i < pre.length; i++) {
                forced[i] = e.mask()[i] ? pre[i] : 0;
                maskValues[i] = e.mask()[i] ? 1 : 0;
            }
            pattern.checkRelu(e, pre, forced, y.dtype() == DType.F64 && perturbation == null);
            overwrite(y, forced);
            masks.put(y.buffer(), maskValues);
            return y;
        }

        private static void overwrite(NDArray a, double[] values) {
            RAW.copyInto(a, RAW.fromHost(values, a.shape(), a.dtype()));
        }
    }

    /** The largest |recorded - replayed| over a tensor: the rounding the run under test showed on this op. */
    private static double observed(double[] recorded, double[] replayed) {
        double d = 0;
        for (int i = 0; i < recorded.length; i++) {
            d = Math.max(d, Math.abs(recorded[i] - replayed[i]));
        }
        return d;
    }

    /** {@code exact}: the plain F64 replay, whose disagreements with the recorded piece are the ones reported. */
    private void checkRelu(Event e, double[] pre, double[] forced, boolean exact) {
        double band = FLIP_BAND * observed(e.output(), forced);
        for (int i = 0; i < pre.length; i++) {
            if (e.mask()[i] != pre[i] > 0) {
                String what = String.format("%s %s element %d: recorded %s, pre-activation %.3e, band %.3e",
                        e.kernel(), e.shape(), i, e.mask()[i] ? "through" : "zeroed", pre[i], band);
                if (Math.abs(pre[i]) > band) {
                    throw new AssertionError("the recorded run put a relu element on the wrong side beyond rounding: " + what);
                }
                if (exact) {
                    flips.add(what);
                }
            }
        }
    }

    private void checkPooling(Event e, double[] own, double[] forced, boolean exact) {
        double band = FLIP_BAND * observed(e.output(), forced);
        for (int o = 0; o < own.length; o++) {
            double gap = own[o] - forced[o]; // >= 0: own is the window's true maximum
            if (gap != 0) {
                String what = String.format("maxPool2d %s output %d: recorded element %d is %.3e below the maximum, band %.3e",
                        e.shape(), o, e.argmax()[o], gap, band);
                if (gap > band) {
                    throw new AssertionError("the recorded run chose a pooling element beyond rounding: " + what);
                }
                if (exact) {
                    flips.add(what);
                }
            }
        }
    }

    private static double[] host(NDArray a) {
        return a.backend().toHostDoubles(a);
    }
}
