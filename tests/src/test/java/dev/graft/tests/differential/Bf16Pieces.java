package dev.graft.tests.differential;

import dev.graft.engine.Device;
import dev.graft.engine.NDArray;
import dev.graft.engine.backend.BackendInterceptor;
import dev.graft.engine.backend.Bf16;

import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The bf16 roundings a run chose, replayed on the reference. Under bf16 precision every convolution (forward,
 * backward-data and backward-weights) and matrix product rounds its two operands to bfloat16, a step function of each operand: where the oracle's F64 operand lies within the
 * tested run's F32 error of a midpoint between two bf16 values, the two round to neighbouring values 2^-8 apart
 * (relative), a difference that is no kernel's fault, as a relu flip is not ({@link ActivationPattern}). So the harness
 * records the rounded operands of every such call on the tested backend ({@link #record}) and the reference replays
 * substitute the recorded bf16 value wherever their own rounding differs ({@link #replay}), after checking that the
 * difference is plausible rounding: the replay's unrounded value must lie within {@link ActivationPattern#FLIP_BAND}
 * times the largest difference between the tested and the replayed operand over that tensor of the midpoint between
 * the two bf16 values (else the replay fails, naming the kernel and element). What is recorded is the operand the
 * tested kernel received, rounded here by {@link Bf16#round}; how the tested kernel itself rounds shows in its output,
 * which the harness compares with the oracle's.
 */
final class Bf16Pieces {
    private static final Set<String> PRODUCTS = Set.of("conv2d", "conv2dBackwardData", "conv2dBackwardWeights", "gemm",
            "batchedGemm");

    /** One product call: its kernel, and per operand (arguments 0 and 1) the tested run's values before rounding. */
    private record Call(String kernel, float[][] operands) {
    }

    private final List<Call> calls = new ArrayList<>();
    private int substituted;

    int substituted() {
        return substituted;
    }

    static Recorder record(Device device) {
        Bf16Pieces pieces = new Bf16Pieces();
        return Recorder.install(device, pieces);
    }

    static final class Recorder extends BackendInterceptor {
        private final Bf16Pieces pieces;

        private Recorder(Bf16Pieces pieces) {
            this.pieces = pieces;
        }

        static Recorder install(Device device, Bf16Pieces pieces) {
            return BackendInterceptor.install(device, new Recorder(pieces));
        }

        Bf16Pieces pieces() {
            return pieces;
        }

        @Override
        protected Object intercept(Method kernel, Object[] args, Call call) throws Throwable {
            if (PRODUCTS.contains(kernel.getName())) {
                NDArray a = (NDArray) args[0];
                NDArray b = (NDArray) args[1];
                pieces.calls.add(new Bf16Pieces.Call(kernel.getName(),
                        new float[][] {a.backend().toHostFloats(a), b.backend().toHostFloats(b)}));
            }
            return call.proceed();
        }
    }

    /** Makes the reference backend adopt the recorded roundings, in call order, until closed. */
    Replayer replay() {
        return Replayer.install(this);
    }

    static final class Replayer extends BackendInterceptor {
        private final Bf16Pieces pieces;
        private int next;

        private Replayer(Bf16Pieces pieces) {
            this.pieces = pieces;
        }

        static Replayer install(Bf16Pieces pieces) {
            return BackendInterceptor.install(Device.REFERENCE, new Replayer(pieces));
        }

        void checkComplete() {
            if (next != pieces.calls.size()) {
                throw new AssertionError("the replay ran " + next + " bf16 products, the recorded run " + pieces.calls.size());
            }
        }

        @Override
        protected Object intercept(Method kernel, Object[] args, Call call) throws Throwable {
            String name = kernel.getName();
            if (!PRODUCTS.contains(name)) {
                return call.proceed();
            }
            if (next >= pieces.calls.size() || !pieces.calls.get(next).kernel().equals(name)) {
                throw new AssertionError("bf16 product " + next + " of the replay is " + name + ", the recorded run's "
                        + (next < pieces.calls.size() ? pieces.calls.get(next).kernel() : "nothing"));
            }
            Bf16Pieces.Call recorded = pieces.calls.get(next++);
            for (int i = 0; i < 2; i++) {
                args[i] = adopt(name + " call " + (next - 1) + " operand " + i, (NDArray) args[i], recorded.operands()[i]);
            }
            return call.proceed();
        }

        /** {@code a} with the recorded bf16 value wherever its own rounding differs, checked to be within rounding. */
        private NDArray adopt(String what, NDArray a, float[] tested) {
            double[] v = a.backend().toHostDoubles(a);
            double observed = 0;
            for (int i = 0; i < v.length; i++) {
                observed = Math.max(observed, Math.abs(v[i] - tested[i]));
            }
            double[] out = null;
            for (int i = 0; i < v.length; i++) {
                float mine = Bf16.round((float) v[i]);
                float theirs = Bf16.round(tested[i]);
                if (mine == theirs || (Float.isNaN(mine) && Float.isNaN(theirs))) {
                    continue;
                }
                double midpoint = ((double) mine + theirs) / 2;
                if (!(Math.abs(v[i] - midpoint) <= ActivationPattern.FLIP_BAND * observed)) {
                    throw new AssertionError(what + " element " + i + ": the tested run rounded " + tested[i] + " to bf16 "
                            + theirs + ", the replay rounds " + v[i] + " to " + mine + "; it is " + Math.abs(v[i] - midpoint)
                            + " from their midpoint, beyond " + ActivationPattern.FLIP_BAND + " x the largest operand difference "
                            + observed);
                }
                if (out == null) {
                    out = v.clone();
                }
                out[i] = theirs;
                pieces.substituted++;
            }
            return out == null ? a : a.backend().fromHost(out, a.shape(), a.dtype());
        }
    }
}
