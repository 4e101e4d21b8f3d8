package dev.graft.engine.backend.cuda;

import dev.graft.engine.backend.AdamWSpec;
import dev.graft.engine.backend.SgdSpec;

import static dev.graft.engine.backend.cuda.CudaKernels.Source.OPTIM;

/** Launchers for {@code kernels/optim.cu}: one fused pass per parameter tensor. */
final class OptimizerKernels {
    private final CudaKernels k;

    OptimizerKernels(CudaKernels k) {
        this.k = k;
    }

    /** {@code buf} 0 when momentum is 0. */
    void sgd(long p, long g, long buf, long n, SgdSpec s, boolean firstStep) {
        k.launch(OPTIM, "sgd_f32", n, new KernelArgs().ptr(p).ptr(g).ptr(buf).i64(n).f32((float) s.lr()).f32((float) s.momentum())
                .f32((float) s.dampening()).f32((float) s.weightDecay()).i32(s.nesterov() ? 1 : 0).i32(firstStep ? 1 : 0));
    }

    /** Bias corrections are computed here in double, once per step, as torch.optim.AdamW does on the host. */
    void adamw(long p, long g, long m, long v, long n, AdamWSpec s, long step) {
        double bc1 = 1 - Math.pow(s.beta1(), step);
        double bc2 = 1 - Math.pow(s.beta2(), step);
        k.launch(OPTIM, "adamw_f32", n, new KernelArgs().ptr(p).ptr(g).ptr(m).ptr(v).i64(n).f32((float) s.lr()).f32((float) s.beta1())
                .f32((float) s.beta2()).f32((float) s.eps()).f32((float) s.weightDecay()).f32((float) (s.lr() / bc1))
                .f32((float) Math.sqrt(bc2)));
    }
}
