// Reductions: sumTo (sum over broadcast dimensions) and the sum of squares. Both accumulate in double.

// x's dimensions split into kept ones (those of the target, row-major order of the output) and reduced ones.
// Sizes and x's row-major strides for each; redCount = product of the reduced sizes.
struct Reduction {
    long long keptRank;
    long long keptSize[GRAFT_MAX_RANK];
    long long keptStride[GRAFT_MAX_RANK];
    long long redRank;
    long long redSize[GRAFT_MAX_RANK];
    long long redStride[GRAFT_MAX_RANK];
    long long redCount;
};

__device__ __forceinline__ long long split_offset(long long i, long long rank, const long long* size, const long long* stride) {
    long long off = 0;
    for (int d = (int)rank - 1; d >= 0; --d) {
        off += (i % size[d]) * stride[d];
        i /= size[d];
    }
    return off;
}

// One block per output element; the block's threads stride over the reduced elements (long reductions).
extern "C" __global__ void sum_to_block_f32(float* out, const float* x, Reduction r) {
    long long o = blockIdx.x;
    long long base = split_offset(o, r.keptRank, r.keptSize, r.keptStride);
    double acc = 0;
    for (long long k = threadIdx.x; k < r.redCount; k += blockDim.x) {
        acc += x[base + split_offset(k, r.redRank, r.redSize, r.redStride)];
    }
    double total = block_sum(acc);
    if (threadIdx.x == 0) out[o] = (float)total;
}

// One thread per output element (short reductions, many outputs: neighbouring threads read neighbouring x).
extern "C" __global__ void sum_to_thread_f32(float* out, const float* x, Reduction r, long long outCount) {
    GRID_STRIDE(o, outCount) {
        long long base = split_offset(o, r.keptRank, r.keptSize, r.keptStride);
        double acc = 0;
        for (long long k = 0; k < r.redCount; ++k) {
            acc += x[base + split_offset(k, r.redRank, r.redSize, r.redStride)];
        }
        out[o] = (float)acc;
    }
}

// partial[blockIdx.x] = sum of x[i]^2 over the block's share; the host adds the partials (deterministic).
extern "C" __global__ void sum_squares_f32(double* partial, const float* x, long long n) {
    double acc = 0;
    GRID_STRIDE(i, n) {
        double v = x[i];
        acc += v * v;
    }
    double total = block_sum(acc);
    if (threadIdx.x == 0) partial[blockIdx.x] = total;
}
