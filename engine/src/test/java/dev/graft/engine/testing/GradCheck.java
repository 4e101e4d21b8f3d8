package dev.graft.engine.testing;

import dev.graft.engine.DType;
import dev.graft.engine.Device;
import dev.graft.engine.Functional;
import dev.graft.engine.Grad;
import dev.graft.engine.Scope;
import dev.graft.engine.Tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Function;

/**
 * Analytic gradients against central finite differences in F64 on the reference backend, with
 * {@code torch.autograd.gradcheck}'s defaults: eps 1e-6, |analytic - numeric| <= atol + rtol * |numeric|,
 * atol 1e-5, rtol 1e-3. The scalar differentiated is sum(f(inputs) * R) for a fixed random R, so every output
 * element contributes with a different weight.
 */
public final class GradCheck {
    public static final double EPS = 1e-6;
    public static final double ATOL = 1e-5;
    public static final double RTOL = 1e-3;

    private GradCheck() {
    }

    /** One input: values and shape; {@code differentiable} false keeps it constant (no gradient checked). */
    public record Input(double[] values, int[] shape, boolean differentiable) {
        public static Input of(double[] values, int... shape) {
            return new Input(values, shape, true);
        }

        public static Input constant(double[] values, int... shape) {
            return new Input(values, shape, false);
        }
    }

    /** Throws AssertionError naming the input, element and both values at the first mismatch. */
    public static void check(String op, Function<List<Tensor>, Tensor> f, Input... inputs) {
        check(op, f, ATOL, RTOL, inputs);
    }

    public static void check(String op, Function<List<Tensor>, Tensor> f, double atol, double rtol, Input... inputs) {
        try (Scope scope = Scope.open("gradcheck")) {
            double[] projection;
            List<double[]> analytic = new ArrayList<>();
            {
                List<Tensor> ts = tensors(inputs, true);
                Tensor y = f.apply(ts);
                projection = randomLike(y.numel(), 42);
                Tensor r = Tensor.fromArray(Device.REFERENCE, DType.F64, projection, y.shape().dims());
                Tensor loss = Functional.sum(Functional.mul(y, r));
                loss.backward();
                for (int i = 0; i < inputs.length; i++) {
                    Tensor g = ts.get(i).grad();
                    analytic.add(inputs[i].differentiable()
                            ? (g == null ? new double[inputs[i].values().length] : g.toDoubleArray()) : null);
                }
            }
            try (var off = Grad.off()) {
                for (int i = 0; i < inputs.length; i++) {
                    if (!inputs[i].differentiable()) {
                        continue;
                    }
                    double[] v = inputs[i].values();
                    for (int e = 0; e < v.length; e++) {
                        double keep = v[e];
                        v[e] = keep + EPS;
                        double plus = scalar(f, inputs, projection);
                        v[e] = keep - EPS;
                        double minus = scalar(f, inputs, projection);
                        v[e] = keep;
                        double numeric = (plus - minus) / (2 * EPS);
                        double a = analytic.get(i)[e];
                        if (!(Math.abs(a - numeric) <= atol + rtol * Math.abs(numeric))) {
                            throw new AssertionError(op + ": gradient of input " + i + " element " + e + ": analytic "
                                    + a + " vs numeric " + numeric + " (atol " + atol + ", rtol " + rtol + ")");
                        }
                    }
                }
            }
        }
    }

    private static double scalar(Function<List<Tensor>, Tensor> f, Input[] inputs, double[] projection) {
        try (Scope s = Scope.open("gradcheck-probe")) {
            double[] y = f.apply(tensors(inputs, false)).toDoubleArray();
            double acc = 0;
            for (int i = 0; i < y.length; i++) {
                acc += y[i] * projection[i];
            }
            return acc;
        }
    }

    private static List<Tensor> tensors(Input[] inputs, boolean grad) {
        List<Tensor> ts = new ArrayList<>();
        for (Input in : inputs) {
            Tensor t = Tensor.fromArray(Device.REFERENCE, DType.F64, in.values().clone(), in.shape());
            ts.add(grad && in.differentiable() ? t.requiresGrad(true) : t);
        }
        return ts;
    }

    /** Uniform values in [-1, 1) from a seed. */
    public static double[] randomLike(int n, long seed) {
        Random r = new Random(seed);
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            v[i] = r.nextDouble() * 2 - 1;
        }
        return v;
    }
}
