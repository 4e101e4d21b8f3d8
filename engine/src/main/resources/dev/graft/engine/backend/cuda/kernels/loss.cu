// Mean negative log-likelihood over [N, C] log-probabilities with class weights and label smoothing, as
// torch.nn.CrossEntropyLoss: loss_i = (1-eps) w[y_i] (-lp[i,y_i]) + (eps/C) sum_c w[c] (-lp[i,c]), divided by
// norm = sum_i w[y_i] (computed on the host, where labels and weights live). w == nullptr means all ones.

__device__ __forceinline__ double weight(const float* w, long long c) {
    return w == nullptr ? 1.0 : (double)w[c];
}

// One block: threads stride over the rows, the block sums; loss[0] = total / norm.
extern "C" __global__ void nll_forward_f32(float* loss, const float* lp, const int* labels, const float* w,
                                           long long n, long long c, double eps, double norm) {
    double acc = 0;
    for (long long i = threadIdx.x; i < n; i += blockDim.x) {
        long long y = labels[i];
        acc += (1.0 - eps) * weight(w, y) * -(double)lp[i * c + y];
        if (eps > 0) {
            double smooth = 0;
            for (long long j = 0; j < c; ++j) smooth += weight(w, j) * -(double)lp[i * c + j];
            acc += eps / c * smooth;
        }
    }
    double total = block_sum(acc);
    if (threadIdx.x == 0) loss[0] = (float)(total / norm);
}

// g[i,j] = -(eps/C w[j] + [j == y_i] (1-eps) w[j]) * dLoss / norm; dLoss is a device scalar.
extern "C" __global__ void nll_backward_f32(float* g, const float* dLoss, const int* labels, const float* w,
                                            long long n, long long c, double eps, double norm) {
    double scale = (double)dLoss[0] / norm;
    GRID_STRIDE(k, n * c) {
        long long i = k / c;
        long long j = k % c;
        double wj = weight(w, j);
        double d = eps / c * wj + (j == labels[i] ? (1.0 - eps) * wj : 0.0);
        g[k] = (float)(-d * scale);
    }
}
