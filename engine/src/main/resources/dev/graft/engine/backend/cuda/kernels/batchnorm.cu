// Batch-norm helpers around cuDNN's legacy batch-norm calls. Data NCHW ([N, C, HW] with HW = H*W), vectors [C].

// invstd[c] = 1 / sqrt(var[c] + eps), in double then rounded once: cuDNN's backward takes the inverse std.
extern "C" __global__ void bn_invstd_f32(float* invstd, const float* var, double eps, long long c) {
    GRID_STRIDE(i, c) invstd[i] = (float)(1.0 / sqrt((double)var[i] + eps));
}

// Backward with fixed (eval-mode) statistics: dx = dy * gamma[c] / sqrt(var[c] + eps).
extern "C" __global__ void bn_frozen_dx_f32(float* dx, const float* dy, const float* gamma, const float* var,
                                            double eps, long long c, long long hw, long long total) {
    GRID_STRIDE(i, total) {
        long long ch = (i / hw) % c;
        dx[i] = (float)((double)dy[i] * gamma[ch] / sqrt((double)var[ch] + eps));
    }
}

// dgamma[c] = sum dy * (x - mean[c]) / sqrt(var[c] + eps), dbeta[c] = sum dy; one block per channel.
extern "C" __global__ void bn_param_grads_f32(float* dgamma, float* dbeta, const float* dy, const float* x,
                                              const float* mean, const float* var, double eps,
                                              long long n, long long c, long long hw) {
    long long ch = blockIdx.x;
    double m = mean[ch];
    double invstd = 1.0 / sqrt((double)var[ch] + eps);
    double sdy = 0, sdyx = 0;
    for (long long k = threadIdx.x; k < n * hw; k += blockDim.x) {
        long long i = ((k / hw) * c + ch) * hw + k % hw;
        double g = dy[i];
        sdy += g;
        sdyx += g * ((double)x[i] - m) * invstd;
    }
    double tdy = block_sum(sdy);
    double tdyx = block_sum(sdyx);
    if (threadIdx.x == 0) {
        dgamma[ch] = (float)tdyx;
        dbeta[ch] = (float)tdy;
    }
}
