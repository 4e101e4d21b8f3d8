package dev.graft.tests.differential;

import dev.graft.engine.DType;
import dev.graft.engine.Device;
import dev.graft.engine.Precision;
import dev.graft.engine.StateDict;
import dev.graft.engine.backend.Backend;
import dev.graft.engine.backend.Backends;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Runs one draw (a ResNet {@link NetworkDraw} or an {@link InceptionDraw}) on the backend under test in F32 and on
 * the reference backend three times, each run
 * replaying the piece the tested run landed on ({@link ActivationPattern}): in F64 (the oracle), in F32, and in F64
 * with float32-sized rounding injected into every summing kernel ({@link RoundingPerturbation}). Every logit, the loss
 * and every trainable parameter's gradient is compared with F64.
 *
 * <p>Error of a tensor: max |x - x64| / max(1, max |x64|); of a category (the logits, the loss, all gradients): the
 * largest over its tensors. The yardstick of a category is the larger error of the two other replays: reference F32
 * shows how far rounding each result once moves this draw, the perturbed replay how far rounding of the size a float
 * accumulation leaves moves it (sums with cancellation, amplified by train-mode batch norm over a few values per
 * channel, make the second far larger on some draws). Over 400 fuzz draws cpu used a median 5% and at most 67% of
 * what is allowed. A category fails when the tested backend's error exceeds
 * {@code max(RATIO x yardstick, FLOOR)}, plus, for the loss, what the tested logits' own error carries into it: the
 * loss is the batch mean of cross-entropy, whose gradient in one sample's logits is softmax - onehot (L1 norm at most
 * 2), so a logit error of d moves it by at most 2d (for a multi-label draw's masked binary cross-entropy, by at most
 * max(1, pos_weight) d: {@link NetworkDraw#lossLipschitz}). Without that term a draw whose loss happens to round well in
 * the replays (yardstick 3e-7) failed on a cpu loss 1.2e-5 off that follows from logits 5.7e-6 off, which pass.
 *
 * <p>bf16 ({@link #run(DifferentialDraw, Device, Precision)}): the tested backend and all three reference replays run
 * under {@link Precision#BF16}, where the reference rounds the operands of every convolution (forward,
 * backward-data) and matrix product to bfloat16 and sums exactly (in F64 for the oracle). Rounding to bf16 is a step function: an operand within the
 * tested run's F32 error of a midpoint rounds to the neighbouring bf16 value in the replay (2^-8 relative apart), and
 * the perturbed replay flips many (a first version without replaying them measured yardsticks of 2e-3 and passed an
 * fp32 run as bf16). So the replays also adopt the tested run's bf16 roundings ({@link Bf16Pieces}, each flip checked
 * to be within rounding of a midpoint), and the tested run then differs from the oracle only by F32 accumulation:
 * the same yardstick, RATIO and FLOOR judge the bf16 arm unchanged. A run whose bf16 mode was ignored is off by bf16
 * rounding (up to 2^-8 relative per operand) everywhere (NetworkDifferentialSelfTest plants it).
 */
final class NetworkDifferential {
    /** How much worse than the float32 yardstick a backend may be (the trust issue's figure). */
    static final double RATIO = 10;
    /** Below this any error passes: float32 sums over thousands of terms reach it in well-conditioned draws. */
    static final double FLOOR = 1e-5;

    /** One compared tensor: its error on the tested backend, on reference F32 and in the perturbed F64 replay. */
    record Deviation(String name, double tested, double referenceF32, double perturbed) {
        double yardstick() {
            return Math.max(referenceF32, perturbed);
        }
    }

    /** The largest error of a category (logits, loss, gradients) on each side, and the tensors where they occur. */
    record Category(String name, Deviation worstTested, Deviation worstYardstick, double inherited) {
        double allowed() {
            return Math.max(RATIO * worstYardstick.yardstick(), FLOOR) + inherited;
        }

        boolean fails() {
            return !(worstTested.tested() <= allowed());
        }

        @Override
        public String toString() {
            return String.format("%s: %.2e at %s; yardstick %.2e at %s (reference F32 %.2e, perturbed F64 %.2e); allowed %.2e%s",
                    name, worstTested.tested(), worstTested.name(), worstYardstick.yardstick(), worstYardstick.name(),
                    worstYardstick.referenceF32(), worstYardstick.perturbed(), allowed(),
                    inherited > 0 ? String.format(" (%.2e of it from the logits' error)", inherited) : "");
        }
    }

    /** The comparison of one draw. */
    record Outcome(DifferentialDraw c, List<Deviation> deviations, List<String> flips, int kinkOps, double lossFromLogits) {
        List<Category> categories() {
            List<Category> out = new ArrayList<>();
            for (String cat : new String[] {"logits", "loss", "grad"}) {
                List<Deviation> in = deviations.stream().filter(d -> d.name().startsWith(cat)).toList();
                if (!in.isEmpty()) {
                    Deviation t = in.stream().max(java.util.Comparator.comparingDouble(Deviation::tested)).get();
                    Deviation r = in.stream().max(java.util.Comparator.comparingDouble(Deviation::yardstick)).get();
                    out.add(new Category(cat.equals("grad") ? "gradients" : cat, t, r, cat.equals("loss") ? lossFromLogits : 0));
                }
            }
            return out;
        }

        List<Category> failures() {
            return categories().stream().filter(Category::fails).toList();
        }

        /** The tested error over what is allowed, largest over the categories (above 1 fails). */
        double margin() {
            return categories().stream().mapToDouble(k -> k.worstTested().tested() / k.allowed()).max().orElse(0);
        }

        String report() {
            StringBuilder b = new StringBuilder(c.toString()).append('\n');
            b.append("  ").append(kinkOps).append(" relu/pooling ops; ").append(flips.size())
                    .append(" elements on another piece than F64's own (within rounding; the reference runs replay the tested run's piece)\n");
            flips.stream().limit(5).forEach(f -> b.append("    ").append(f).append('\n'));
            categories().forEach(k -> b.append(k.fails() ? "  FAILS " : "  ").append(k).append('\n'));
            return b.toString();
        }
    }

    private NetworkDifferential() {
    }

    static Outcome run(DifferentialDraw c, Device tested) {
        return run(c, tested, Precision.FP32);
    }

    /** The draw with {@code tested} and the reference replays both under {@code precision} (restored afterwards). */
    static Outcome run(DifferentialDraw c, Device tested, Precision precision) {
        return run(c, tested, precision, precision);
    }

    /**
     * The draw with {@code tested} under {@code testedPrecision} and the reference replays under
     * {@code referencePrecision}; different precisions only in the self-test (a tested backend that ignores bf16).
     */
    static Outcome run(DifferentialDraw c, Device tested, Precision testedPrecision, Precision referencePrecision) {
        Backend testedBackend = Backends.get(tested);
        Backend reference = Backends.get(Device.REFERENCE);
        try (Backend.PrecisionScope t = testedBackend.usePrecision(testedPrecision);
             Backend.PrecisionScope r = reference.usePrecision(referencePrecision)) {
            return runAsSet(c, tested, referencePrecision == Precision.BF16);
        }
    }

    private static Outcome runAsSet(DifferentialDraw c, Device tested, boolean bf16) {
        StateDict weights = c.weights();
        DifferentialDraw.Result result;
        ActivationPattern pattern;
        Bf16Pieces pieces = null;
        try (ActivationPattern.Recorder r = ActivationPattern.record(tested);
             Bf16Pieces.Recorder b = bf16 ? Bf16Pieces.record(tested) : null) {
            result = c.run(tested, DType.F32, weights);
            pattern = r.pattern();
            pieces = b == null ? null : b.pieces();
        }
        DifferentialDraw.Result f32 = replay(c, pattern.replay(), pieces, DType.F32, weights);
        DifferentialDraw.Result f64 = replay(c, pattern.replay(), pieces, DType.F64, weights);
        DifferentialDraw.Result noisy = replay(c, pattern.replayPerturbed(PERTURBATION_SEED), pieces, DType.F64, weights);
        List<Deviation> deviations = new ArrayList<>();
        for (Map.Entry<String, double[]> e : f64.tensors().entrySet()) {
            double[] exact = e.getValue();
            double[] t = result.tensors().get(e.getKey());
            if (t == null) {
                throw new AssertionError(e.getKey() + " is missing from the run on " + tested);
            }
            deviations.add(new Deviation(e.getKey(), error(t, exact), error(f32.tensors().get(e.getKey()), exact),
                    error(noisy.tensors().get(e.getKey()), exact)));
        }
        if (deviations.size() != result.tensors().size()) {
            throw new AssertionError("the run on " + tested + " produced " + result.tensors().keySet() + ", F64 " + f64.tensors().keySet());
        }
        return new Outcome(c, deviations, pattern.flips(), pattern.events(), c.lossLipschitz() * lossFromLogits(result, f64));
    }

    private static final long PERTURBATION_SEED = 0x5eed;

    private static DifferentialDraw.Result replay(DifferentialDraw c, ActivationPattern.Replayer replayer, Bf16Pieces pieces,
                                                  DType dtype, StateDict weights) {
        try (ActivationPattern.Replayer p = replayer; Bf16Pieces.Replayer b = pieces == null ? null : pieces.replay()) {
            DifferentialDraw.Result r = c.run(Device.REFERENCE, dtype, weights);
            p.checkComplete();
            if (b != null) {
                b.checkComplete();
            }
            return r;
        }
    }

    /**
     * max |logits - logits64| / max(1, |loss64|); times the loss's Lipschitz constant ({@link DifferentialDraw#lossLipschitz}:
     * 2 for cross-entropy, max(1, pos_weight) for masked binary cross-entropy) it is the most the tested logits' error
     * moves the loss.
     */
    private static double lossFromLogits(DifferentialDraw.Result tested, DifferentialDraw.Result f64) {
        double[] z = tested.tensors().get("logits");
        double[] z64 = f64.tensors().get("logits");
        double[] loss64 = f64.tensors().get("loss");
        if (z == null || z64 == null || loss64 == null) {
            return 0;
        }
        double d = 0;
        for (int i = 0; i < z64.length; i++) {
            d = Math.max(d, Math.abs(z[i] - z64[i])); // NaN is caught by the logits' own check
        }
        return d / Math.max(1, Math.abs(loss64[0]));
    }

    /** max |x - e| / max(1, max |e|); any NaN or infinity in x is an infinite error. */
    static double error(double[] x, double[] e) {
        double d = 0;
        double m = 1;
        for (int i = 0; i < e.length; i++) {
            if (!Double.isFinite(x[i])) {
                return Double.POSITIVE_INFINITY;
            }
            d = Math.max(d, Math.abs(x[i] - e[i]));
            m = Math.max(m, Math.abs(e[i]));
        }
        return d / m;
    }
}
