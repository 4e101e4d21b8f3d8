package dev.graft.models.optim;

import dev.graft.engine.NDArray;
import dev.graft.models.Parameter;

import java.util.Collection;

/** Gradient clipping, as {@code torch.nn.utils.clip_grad_norm_} with the 2-norm. */
public final class GradClip {
    private GradClip() {
    }

    /**
     * Scales the gradients of {@code parameters} in place so that their global 2-norm is at most
     * {@code maxNorm}: coefficient {@code maxNorm / (norm + 1e-6)}, applied only when below 1 (PyTorch clamps
     * it to 1, a no-op). Parameters without a gradient (frozen, or unused) are ignored. Returns the norm
     * before clipping; a non-finite norm leaves the gradients unchanged so the caller can skip the step.
     */
    public static double clipGradNorm(Collection<Parameter> parameters, double maxNorm) {
        if (!(maxNorm > 0)) {
            throw new OptimizerException("clipGradNorm: max norm must be > 0, got " + maxNorm);
        }
        double total = globalNorm(parameters);
        double coef = maxNorm / (total + 1e-6);
        if (Double.isFinite(total) && coef < 1) {
            for (Parameter p : parameters) {
                NDArray g = p.tensor().gradArray();
                if (g != null) {
                    g.backend().scaleInPlace(g, coef);
                    g.buffer().bumpVersion();
                }
            }
        }
        return total;
    }

    /** The 2-norm of all gradients together (accumulated in double). */
    public static double globalNorm(Collection<Parameter> parameters) {
        double sum = 0;
        for (Parameter p : parameters) {
            NDArray g = p.tensor().gradArray();
            if (g != null) {
                sum += g.backend().sumOfSquares(g);
            }
        }
        return Math.sqrt(sum);
    }
}
