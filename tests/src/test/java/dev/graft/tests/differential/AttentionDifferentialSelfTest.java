package dev.graft.tests.differential;

import dev.graft.engine.Device;
import dev.graft.engine.NDArray;
import dev.graft.engine.backend.BackendInterceptor;
import org.junit.jupiter.api.Test;

import java.lang.reflect.Method;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The harness can fail on an attention draw: with bugs injected into the cpu backend through an interceptor (the
 * real kernels untouched), a softmax taken over the wrong axis (the query axis instead of the key axis), attention
 * scores missing their 1/sqrt(d) scale, and a bias-table gradient whose scatter-add keeps only the last entry per
 * row (an assignment instead of an add) are each caught; the same draw without a bug passes.
 */
class AttentionDifferentialSelfTest {
    /** 3 images (not 2: a batch mean would scale by 1/2 too), patch 2 on 3x3 (+1) patches: 10 tokens of 12 (3 heads of 4), a bias gathered from 5 rows. */
    private static final AttentionDraw DRAW = new AttentionDraw(3, 2, 3, 3, 1, 3, 4, 4, true, 5, 17);

    /** Rewrites the output of every call of one kernel from its arguments. */
    private static final class Rewrite extends BackendInterceptor {
        interface Effect {
            float[] apply(Object[] args, NDArray out, float[] values);
        }

        private final String kernel;
        private final Effect effect;

        private Rewrite(String kernel, Effect effect) {
            this.kernel = kernel;
            this.effect = effect;
        }

        static Rewrite on(String kernel, Effect effect) {
            return install(Device.CPU, new Rewrite(kernel, effect));
        }

        @Override
        protected Object intercept(Method k, Object[] args, Call call) throws Throwable {
            Object r = call.proceed();
            if (k.getName().equals(kernel)) {
                NDArray out = (NDArray) r;
                out.backend().copyFromHost(out, effect.apply(args, out, out.backend().toHostFloats(out)));
            }
            return r;
        }
    }

    @Test
    void aCleanAttentionDrawPasses() {
        NetworkDifferential.Outcome o = NetworkDifferential.run(DRAW, Device.CPU);
        assertTrue(o.failures().isEmpty(), o.report());
    }

    @Test
    void softmaxOverTheWrongAxisIsCaught() {
        NetworkDifferential.Outcome o;
        try (Rewrite r = Rewrite.on("softmax", (args, out, y) -> {
            NDArray x = (NDArray) args[0];
            float[] v = x.backend().toHostFloats(x);
            int t = out.shape().dim(-1); // the scores are [.., T, T]: normalise each column instead of each row
            for (int m = 0; m < v.length / (t * t); m++) {
                for (int j = 0; j < t; j++) {
                    double max = Double.NEGATIVE_INFINITY;
                    double sum = 0;
                    for (int i = 0; i < t; i++) {
                        max = Math.max(max, v[m * t * t + i * t + j]);
                    }
                    for (int i = 0; i < t; i++) {
                        sum += Math.exp(v[m * t * t + i * t + j] - max);
                    }
                    for (int i = 0; i < t; i++) {
                        y[m * t * t + i * t + j] = (float) (Math.exp(v[m * t * t + i * t + j] - max) / sum);
                    }
                }
            }
            return y;
        })) {
            o = NetworkDifferential.run(DRAW, Device.CPU);
        }
        assertFalse(o.failures().isEmpty(), "softmax over the query axis passed:\n" + o.report());
    }

    @Test
    void aMissingScaleIsCaught() {
        NetworkDifferential.Outcome o;
        try (Rewrite r = Rewrite.on("scale", (args, out, y) -> {
            double alpha = (Double) args[1];
            if (Math.abs(alpha - 0.5) < 1e-12) { // 1/sqrt(d) for d = 4: the attention scores' scale
                NDArray x = (NDArray) args[0];
                return x.backend().toHostFloats(x);
            }
            return y;
        })) {
            o = NetworkDifferential.run(DRAW, Device.CPU);
        }
        assertFalse(o.failures().isEmpty(), "attention without 1/sqrt(d) passed:\n" + o.report());
    }

    @Test
    void aScatterThatAssignsInsteadOfAddingIsCaught() {
        NetworkDifferential.Outcome o;
        try (Rewrite r = Rewrite.on("indexSelectBackward", (args, out, dx) -> {
            NDArray dy = (NDArray) args[0];
            int[] index = (int[]) args[2];
            float[] g = dy.backend().toHostFloats(dy);
            int inner = out.numel() / out.shape().dim(0); // axis 0 of the table [R, heads]
            float[] wrong = new float[dx.length];
            for (int j = 0; j < index.length; j++) {
                System.arraycopy(g, j * inner, wrong, index[j] * inner, inner);
            }
            return wrong;
        })) {
            o = NetworkDifferential.run(DRAW, Device.CPU);
        }
        assertFalse(o.failures().isEmpty(), "a scatter that assigns passed:\n" + o.report());
    }
}
