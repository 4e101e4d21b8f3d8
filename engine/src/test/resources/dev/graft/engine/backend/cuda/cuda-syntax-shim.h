// Just enough of CUDA's vocabulary for a host C++ compiler to parse Graft's kernel files (syntax and types
// only; nothing runs). Used by KernelSourceSyntaxTest where g++ exists.
#include <cmath>
#define __global__
#define __device__
#define __forceinline__ inline
#define __shared__ static
struct dim3 { unsigned x, y, z; };
extern dim3 threadIdx, blockIdx, blockDim, gridDim;
inline void __syncthreads() {}
inline float sqrtf(float x) { return std::sqrt(x); }
using std::sqrt;
