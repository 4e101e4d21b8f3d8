// Fused optimizer steps, in place, one thread per element, FP32 arithmetic as torch.optim's CUDA kernels.

// torch.optim.SGD: d = g + wd*p; buf = first ? d : momentum*buf + (1-dampening)*d;
// d = nesterov ? d + momentum*buf : buf; p -= lr*d. buf == nullptr when momentum is 0.
extern "C" __global__ void sgd_f32(float* p, const float* g, float* buf, long long n, float lr, float momentum,
                                   float dampening, float wd, int nesterov, int first) {
    GRID_STRIDE(i, n) {
        float d = g[i] + wd * p[i];
        if (buf != nullptr) {
            float b = first ? d : momentum * buf[i] + (1.0f - dampening) * d;
            buf[i] = b;
            d = nesterov ? d + momentum * b : b;
        }
        p[i] -= lr * d;
    }
}

// torch.optim.AdamW (amsgrad off): p *= 1 - lr*wd; m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2;
// p -= stepSize * m / (sqrt(v)/bc2Sqrt + eps), stepSize = lr / (1 - b1^t), bc2Sqrt = sqrt(1 - b2^t) (host, double).
extern "C" __global__ void adamw_f32(float* p, const float* g, float* m, float* v, long long n, float lr, float beta1,
                                     float beta2, float eps, float wd, float stepSize, float bc2Sqrt) {
    GRID_STRIDE(i, n) {
        float gi = g[i];
        float pi = p[i] * (1.0f - lr * wd);
        float mi = beta1 * m[i] + (1.0f - beta1) * gi;
        float vi = beta2 * v[i] + (1.0f - beta2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] = pi - stepSize * mi / (sqrtf(vi) / bc2Sqrt + eps);
    }
}
