// Shared by every CORY kernel source (prepended by KernelSource.all()). No #include: NVRTC
// ships no CUDA headers, so bf16 / fp16 conversions are written out here.
// Conventions: row-major float32 activations; sizes are int, flat offsets long long; every
// reduction is in a fixed order (deterministic: the same inputs give the same bits).

typedef unsigned short bf16_t;
typedef unsigned short fp16_t;

#ifndef INFINITY
#define INFINITY __int_as_float(0x7f800000)
#endif

#define CORY_WARP 32
#define CORY_FULL_MASK 0xffffffffu

__device__ __forceinline__ float bf16_to_f32(bf16_t h) {
  return __uint_as_float(((unsigned int) h) << 16);
}

// Round to nearest even, NaN kept quiet (as torch's float -> bfloat16).
__device__ __forceinline__ bf16_t f32_to_bf16(float f) {
  unsigned int u = __float_as_uint(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) {
    return (bf16_t) ((u >> 16) | 0x40u);
  }
  u += 0x7fffu + ((u >> 16) & 1u);
  return (bf16_t) (u >> 16);
}

__device__ __forceinline__ float fp16_to_f32(fp16_t h) {
  float f;
  asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h));
  return f;
}

__device__ __forceinline__ fp16_t f32_to_fp16(float f) {
  fp16_t h;
  asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(f));
  return h;
}

__device__ __forceinline__ float warp_sum(float v) {
  for (int o = CORY_WARP / 2; o > 0; o >>= 1) {
    v += __shfl_xor_sync(CORY_FULL_MASK, v, o);
  }
  return v;
}

__device__ __forceinline__ double warp_sum_d(double v) {
  for (int o = CORY_WARP / 2; o > 0; o >>= 1) {
    v += __shfl_xor_sync(CORY_FULL_MASK, v, o);
  }
  return v;
}

__device__ __forceinline__ float warp_max(float v) {
  for (int o = CORY_WARP / 2; o > 0; o >>= 1) {
    v = fmaxf(v, __shfl_xor_sync(CORY_FULL_MASK, v, o));
  }
  return v;
}

// Sum over the block (blockDim.x a multiple of 32, at most 1024); every thread gets the result.
// `scratch` holds 32 floats of shared memory; a __syncthreads() guards its reuse.
__device__ float block_sum(float v, float* scratch) {
  int lane = threadIdx.x % CORY_WARP;
  int warp = threadIdx.x / CORY_WARP;
  int warps = blockDim.x / CORY_WARP;
  v = warp_sum(v);
  __syncthreads();
  if (lane == 0) {
    scratch[warp] = v;
  }
  __syncthreads();
  v = lane < warps ? scratch[lane] : 0.0f;
  return warp_sum(v);
}

__device__ double block_sum_d(double v, double* scratch) {
  int lane = threadIdx.x % CORY_WARP;
  int warp = threadIdx.x / CORY_WARP;
  int warps = blockDim.x / CORY_WARP;
  v = warp_sum_d(v);
  __syncthreads();
  if (lane == 0) {
    scratch[warp] = v;
  }
  __syncthreads();
  v = lane < warps ? scratch[lane] : 0.0;
  return warp_sum_d(v);
}

__device__ float block_max(float v, float* scratch) {
  int lane = threadIdx.x % CORY_WARP;
  int warp = threadIdx.x / CORY_WARP;
  int warps = blockDim.x / CORY_WARP;
  v = warp_max(v);
  __syncthreads();
  if (lane == 0) {
    scratch[warp] = v;
  }
  __syncthreads();
  v = lane < warps ? scratch[lane] : -INFINITY;
  return warp_max(v);
}

// Grid-stride loop over [0, n).
#define CORY_FOR(i, n) \
  for (long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x; i < (n); \
       i += (long long) gridDim.x * blockDim.x)
