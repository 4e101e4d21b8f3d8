// Layer norm over the last axis and GELU for Graft's cuda backend (issue 11). Data row-major: layer norm sees
// x as [rows, c] with one block of GRAFT_BLOCK threads per row; sums are accumulated in double (block_sum).

// y = (x - mean) / sqrt(var + eps) * w + b per row; mean and the biased variance (divided by c) kept per row.
extern "C" __global__ void ln_forward_f32(float* y, float* mean, float* var, const float* x, const float* w,
                                          const float* b, double eps, long long c) {
    const float* xr = x + blockIdx.x * c;
    float* yr = y + blockIdx.x * c;
    double s = 0;
    for (long long i = threadIdx.x; i < c; i += blockDim.x) s += xr[i];
    double m = block_sum(s) / c;
    double q = 0;
    for (long long i = threadIdx.x; i < c; i += blockDim.x) {
        double d = xr[i] - m;
        q += d * d;
    }
    double v = block_sum(q) / c;
    double rstd = 1.0 / sqrt(v + eps);
    for (long long i = threadIdx.x; i < c; i += blockDim.x) yr[i] = (float)(((double)xr[i] - m) * rstd * w[i] + b[i]);
    if (threadIdx.x == 0) {
        mean[blockIdx.x] = (float)m;
        var[blockIdx.x] = (float)v;
    }
}

// dx = rstd * (g - mean(g) - xhat * mean(g * xhat)) with g = dy * w, xhat = (x - mean) * rstd; one block per row.
extern "C" __global__ void ln_backward_dx_f32(float* dx, const float* dy, const float* x, const float* w,
                                              const float* mean, const float* var, double eps, long long c) {
    long long o = blockIdx.x * c;
    double m = mean[blockIdx.x];
    double rstd = 1.0 / sqrt((double)var[blockIdx.x] + eps);
    double sg = 0, sgx = 0;
    for (long long i = threadIdx.x; i < c; i += blockDim.x) {
        double g = (double)dy[o + i] * w[i];
        sg += g;
        sgx += g * ((double)x[o + i] - m) * rstd;
    }
    double mg = block_sum(sg) / c;
    double mgx = block_sum(sgx) / c;
    for (long long i = threadIdx.x; i < c; i += blockDim.x) {
        double xhat = ((double)x[o + i] - m) * rstd;
        dx[o + i] = (float)(rstd * ((double)dy[o + i] * w[i] - mg - xhat * mgx));
    }
}

// dw[j] = sum over rows of dy * xhat, db[j] = sum over rows of dy; one thread per column (coalesced across j).
extern "C" __global__ void ln_backward_params_f32(float* dw, float* db, const float* dy, const float* x,
                                                  const float* mean, const float* var, double eps,
                                                  long long rows, long long c) {
    GRID_STRIDE(j, c) {
        double sw = 0, sb = 0;
        for (long long r = 0; r < rows; r++) {
            double g = dy[r * c + j];
            sb += g;
            sw += g * ((double)x[r * c + j] - mean[r]) / sqrt((double)var[r] + eps);
        }
        dw[j] = (float)sw;
        db[j] = (float)sb;
    }
}

#define GELU_K 0.7978845608028654f
#define GELU_C 0.044715f

// Exact GELU x/2 (1 + erf(x / sqrt 2)), or with tanh != 0 torch's approximation, in float as torch computes it.
extern "C" __global__ void gelu_f32(float* y, const float* x, int tanh_form, long long n) {
    GRID_STRIDE(i, n) {
        float v = x[i];
        y[i] = tanh_form ? 0.5f * v * (1.0f + tanhf(GELU_K * (v + GELU_C * v * v * v)))
                         : 0.5f * v * (1.0f + erff(v * 0.70710678118654752f));
    }
}

extern "C" __global__ void gelu_backward_f32(float* dx, const float* dy, const float* x, int tanh_form, long long n) {
    GRID_STRIDE(i, n) {
        float v = x[i];
        float d;
        if (tanh_form) {
            float t = tanhf(GELU_K * (v + GELU_C * v * v * v));
            d = 0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * GELU_K * (1.0f + 3.0f * GELU_C * v * v);
        } else {
            d = 0.5f * (1.0f + erff(v * 0.70710678118654752f)) + v * 0.39894228040143268f * expf(-0.5f * v * v);
        }
        dx[i] = dy[i] * d;
    }
}
