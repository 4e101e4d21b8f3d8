package dev.graft.tests.differential;

import dev.graft.engine.Device;
import dev.graft.engine.NDArray;
import dev.graft.engine.backend.BackendInterceptor;
import dev.graft.engine.backend.BatchNormStats;
import org.junit.jupiter.api.Test;

import java.lang.reflect.Method;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The harness can fail on a token-MLP draw: a clean draw passes, and a cpu layer norm that divides the squared
 * deviations by C - 1 (torch.var's default, unbiased, instead of layer_norm's C) is caught. The bug goes in through
 * an interceptor that recomputes the first layer norm's output with the unbiased variance, so the real kernel stays
 * untouched.
 */
class TokenMlpDifferentialSelfTest {
    private static final TokenMlpDraw DRAW = new TokenMlpDraw(2, 4, 3, 2, 12, 24, 5, 1, true, false, 1e-6, 17);

    /** Overwrites the output of call {@code which} of layerNorm with the unbiased-variance layer norm of its inputs. */
    private static final class UnbiasedLayerNorm extends BackendInterceptor {
        private final int which;
        private int seen;

        private UnbiasedLayerNorm(int which) {
            this.which = which;
        }

        static UnbiasedLayerNorm on(int which) {
            return install(Device.CPU, new UnbiasedLayerNorm(which));
        }

        @Override
        protected Object intercept(Method k, Object[] args, Call call) throws Throwable {
            Object r = call.proceed();
            if (k.getName().equals("layerNorm") && seen++ == which) {
                NDArray x = (NDArray) args[0];
                float[] xv = x.backend().toHostFloats(x);
                float[] w = x.backend().toHostFloats((NDArray) args[1]);
                float[] b = x.backend().toHostFloats((NDArray) args[2]);
                double eps = (Double) args[3];
                int c = w.length;
                float[] y = new float[xv.length];
                for (int row = 0; row < xv.length / c; row++) {
                    double m = 0;
                    for (int i = 0; i < c; i++) {
                        m += xv[row * c + i];
                    }
                    m /= c;
                    double q = 0;
                    for (int i = 0; i < c; i++) {
                        q += (xv[row * c + i] - m) * (xv[row * c + i] - m);
                    }
                    double rstd = 1 / Math.sqrt(q / (c - 1) + eps);
                    for (int i = 0; i < c; i++) {
                        y[row * c + i] = (float) ((xv[row * c + i] - m) * rstd * w[i] + b[i]);
                    }
                }
                NDArray out = ((BatchNormStats) r).output();
                out.backend().copyFromHost(out, y);
            }
            return r;
        }
    }

    @Test
    void aCleanTokenMlpDrawPasses() {
        NetworkDifferential.Outcome o = NetworkDifferential.run(DRAW, Device.CPU);
        assertTrue(o.failures().isEmpty(), o.report());
    }

    @Test
    void aLayerNormWithUnbiasedVarianceIsCaught() {
        NetworkDifferential.Outcome o;
        try (UnbiasedLayerNorm bug = UnbiasedLayerNorm.on(0)) {
            o = NetworkDifferential.run(DRAW, Device.CPU);
        }
        assertFalse(o.failures().isEmpty(), "layer norm with the unbiased variance passed:\n" + o.report());
    }
}
