// Elementwise F32 kernels: fill, scale, add/mul (equal shapes, or b broadcast right-aligned into a's shape),
// relu's backward, NCHW <-> NHWC transposes, and the backward of global average pooling.

// b's element for each row-major index of a: a's sizes, and b's row-major stride in each of a's dimensions
// (0 where b has size 1 or no such dimension). All 64-bit so the host packs it as a plain array of longs.
struct Broadcast {
    long long rank;
    long long size[GRAFT_MAX_RANK];
    long long bstride[GRAFT_MAX_RANK];
};

__device__ __forceinline__ long long bcast_offset(long long i, const Broadcast& s) {
    long long off = 0;
    for (int d = (int)s.rank - 1; d >= 0; --d) {
        long long c = i % s.size[d];
        i /= s.size[d];
        off += c * s.bstride[d];
    }
    return off;
}

extern "C" __global__ void fill_f32(float* a, float v, long long n) {
    GRID_STRIDE(i, n) a[i] = v;
}

extern "C" __global__ void scale_f32(float* out, const float* x, float alpha, long long n) {
    GRID_STRIDE(i, n) out[i] = alpha * x[i];
}

extern "C" __global__ void add_f32(float* out, const float* a, const float* b, long long n) {
    GRID_STRIDE(i, n) out[i] = a[i] + b[i];
}

extern "C" __global__ void mul_f32(float* out, const float* a, const float* b, long long n) {
    GRID_STRIDE(i, n) out[i] = a[i] * b[i];
}

extern "C" __global__ void add_bcast_f32(float* out, const float* a, const float* b, long long n, Broadcast s) {
    GRID_STRIDE(i, n) out[i] = a[i] + b[bcast_offset(i, s)];
}

extern "C" __global__ void mul_bcast_f32(float* out, const float* a, const float* b, long long n, Broadcast s) {
    GRID_STRIDE(i, n) out[i] = a[i] * b[bcast_offset(i, s)];
}

// relu's backward as torch's threshold_backward: exactly 0 where y <= 0 (whatever dy holds), else dy, so the
// gradient passes where y is NaN (y <= 0 is false for NaN). y is relu's output; x > 0 exactly where y > 0.
extern "C" __global__ void relu_backward_f32(float* dx, const float* dy, const float* y, long long n) {
    GRID_STRIDE(i, n) dx[i] = y[i] <= 0.f ? 0.f : dy[i];
}

// out (NHWC order) from in (NCHW order) of a logical [n, c, h, w] array, hw = h * w. One thread per output.
extern "C" __global__ void nchw_to_nhwc_f32(float* out, const float* in, long long c, long long hw, long long total) {
    GRID_STRIDE(i, total) {
        long long ch = i % c;
        long long p = (i / c) % hw;
        long long b = i / (c * hw);
        out[i] = in[(b * c + ch) * hw + p];
    }
}

// out (NCHW order) from in (NHWC order). One thread per output.
extern "C" __global__ void nhwc_to_nchw_f32(float* out, const float* in, long long c, long long hw, long long total) {
    GRID_STRIDE(i, total) {
        long long p = i % hw;
        long long ch = (i / hw) % c;
        long long b = i / (c * hw);
        out[i] = in[(b * hw + p) * c + ch];
    }
}

// Global average pooling backward: dx[plane, p] = dy[plane] / hw, NCHW.
extern "C" __global__ void avgpool_global_backward_f32(float* dx, const float* dy, long long hw, long long total) {
    GRID_STRIDE(i, total) dx[i] = dy[i / hw] / (float)hw;
}
