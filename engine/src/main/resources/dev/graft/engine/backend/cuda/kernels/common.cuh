// Shared by every kernel file of Graft's cuda backend; NVRTC compiles each file with this prelude in front.
// F32 data, dense, in the order each kernel states. Index arithmetic is 64-bit (long long): a tensor holds
// fewer than 2^31 elements, but i + gridDim*blockDim may pass 2^31 in a grid-stride loop.
#define GRAFT_BLOCK 256
#define GRAFT_MAX_RANK 8

#define GRID_STRIDE(i, n) \
    for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (long long)blockDim.x * gridDim.x)

// Sum of v over the block (GRAFT_BLOCK threads), in double; every thread gets the total. The leading
// __syncthreads() lets a kernel call it twice in a row without a read of the previous total racing a write.
__device__ double block_sum(double v) {
    __shared__ double part[GRAFT_BLOCK];
    __syncthreads();
    part[threadIdx.x] = v;
    __syncthreads();
    for (unsigned k = GRAFT_BLOCK / 2; k > 0; k >>= 1) {
        if (threadIdx.x < k) part[threadIdx.x] += part[threadIdx.x + k];
        __syncthreads();
    }
    return part[0];
}
