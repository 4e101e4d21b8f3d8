package dev.graft.engine.backend.cuda;

import dev.graft.engine.NDArray;
import dev.graft.engine.ShapeException;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;

import static dev.graft.engine.backend.cuda.CudaArrays.addr;
import static dev.graft.engine.backend.cuda.CudaKernels.Source.LOSS;

/**
 * Weighted, label-smoothed NLL over [N, C] log-probabilities ({@code kernels/loss.cu}). Labels and class weights
 * arrive as host arrays: they are checked (a bad label would read out of bounds on the device), uploaded to
 * scratch (labels as int32) and the normaliser, the sum of the labels' weights, is computed here.
 */
final class LossKernels {
    private final CudaContext ctx;

    LossKernels(CudaContext ctx) {
        this.ctx = ctx;
    }

    /** loss (a scalar) = mean NLL. */
    void forward(NDArray loss, NDArray logProbs, int[] labels, float[] weights, double eps) {
        int n = logProbs.shape().dim(0);
        int c = logProbs.shape().dim(1);
        withLabels(n, c, labels, weights, (lab, w, norm) -> ctx.kernels.launchBlocks(LOSS, "nll_forward_f32", 1,
                new KernelArgs().ptr(addr(loss)).ptr(addr(logProbs)).ptr(lab).ptr(w).i64(n).i64(c).f64(eps).f64(norm)));
    }

    /** grad [N, C] of the loss with respect to the log-probabilities, times the device scalar dLoss. */
    void backward(NDArray grad, NDArray dLoss, int[] labels, float[] weights, double eps) {
        int n = grad.shape().dim(0);
        int c = grad.shape().dim(1);
        withLabels(n, c, labels, weights, (lab, w, norm) -> ctx.kernels.launch(LOSS, "nll_backward_f32", (long) n * c,
                new KernelArgs().ptr(addr(grad)).ptr(addr(dLoss)).ptr(lab).ptr(w).i64(n).i64(c).f64(eps).f64(norm)));
    }

    private interface OnDevice {
        void run(long labels, long weights, double norm);
    }

    private void withLabels(int n, int c, int[] labels, float[] weights, OnDevice body) {
        if (labels.length != n) {
            throw ShapeException.of("nll_loss", "one label per row", "rows", n, "labels", labels.length);
        }
        double norm = 0;
        for (int y : labels) {
            if (y < 0 || y >= c) {
                throw ShapeException.of("nll_loss", "labels must be class indices in [0, " + c + ")", "label", y);
            }
            norm += weights == null ? 1 : weights[y];
        }
        DeviceAllocator.Block lab = ctx.scratch(4L * n);
        DeviceAllocator.Block w = weights == null ? DeviceAllocator.Block.EMPTY : ctx.scratch(4L * c);
        try (IntPointer hostLabels = new IntPointer(labels)) {
            ctx.upload(lab.address(), hostLabels, 4L * n);
            if (weights != null) {
                try (FloatPointer hostWeights = new FloatPointer(weights)) {
                    ctx.upload(w.address(), hostWeights, 4L * c);
                }
            }
            body.run(lab.address(), w.address(), norm);
        } finally {
            ctx.allocator.release(lab);
            ctx.allocator.release(w);
        }
    }
}
