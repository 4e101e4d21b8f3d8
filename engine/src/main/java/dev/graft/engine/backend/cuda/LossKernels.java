package dev.graft.engine.backend.cuda;

import static dev.graft.engine.backend.cuda.CudaKernels.Source.LOSS;

/** Launchers for {@code kernels/loss.cu}: weighted, label-smoothed NLL over [N, C] log-probabilities. */
final class LossKernels {
    private final CudaKernels k;

    LossKernels(CudaKernels k) {
        this.k = k;
    }

    /** loss[0] = mean NLL; {@code weights} 0 means all ones; {@code norm} = sum of the labels' weights. */
    void forward(long loss, long logProbs, long labels, long weights, int n, int c, double eps, double norm) {
        k.launchBlocks(LOSS, "nll_forward_f32", 1, new KernelArgs().ptr(loss).ptr(logProbs).ptr(labels).ptr(weights)
                .i64(n).i64(c).f64(eps).f64(norm));
    }

    /** grad [N, C] of the loss with respect to the log-probabilities, times the device scalar dLoss. */
    void backward(long grad, long dLoss, long labels, long weights, int n, int c, double eps, double norm) {
        k.launch(LOSS, "nll_backward_f32", (long) n * c, new KernelArgs().ptr(grad).ptr(dLoss).ptr(labels).ptr(weights)
                .i64(n).i64(c).f64(eps).f64(norm));
    }
}
