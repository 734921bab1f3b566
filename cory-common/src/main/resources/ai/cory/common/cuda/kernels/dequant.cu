// Dequantisation of the frozen base (common.model.PackedMatrix's formats, byte for byte): the
// packed matrix is uploaded as is and rows are expanded on the device right before the GEMM
// that needs them, into float32 or bf16 (the GEMM's input type). Layout: every row's codes, then
// the scales. NF4: two codes per byte, the even element in the high nibble, one absmax per 64
// weights along a row; NF4_DQ: the absmax as an int8 code times its second-level scale (one per
// 256 constants) plus the matrix mean.

__constant__ float NF4_TABLE[16] = {
    -1.0f, -0.6961928009986877f, -0.5250730514526367f, -0.39491748809814453f,
    -0.28444138169288635f, -0.18477343022823334f, -0.09105003625154495f, 0.0f,
    0.07958029955625534f, 0.16093020141124725f, 0.24611230194568634f, 0.33791524171829224f,
    0.44070982933044434f, 0.5626170039176941f, 0.7229568362236023f, 1.0f};

#define NF4_BLOCK 64
#define DQ_BLOCK 256

// A little-endian float at any byte offset (the scales need not be 4-byte aligned).
__device__ __forceinline__ float load_f32_le(const unsigned char* p) {
  unsigned int u = (unsigned int) p[0] | ((unsigned int) p[1] << 8)
      | ((unsigned int) p[2] << 16) | ((unsigned int) p[3] << 24);
  return __uint_as_float(u);
}

__device__ __forceinline__ void store(float* out_f32, bf16_t* out_bf16, long long i, float x) {
  if (out_f32 != nullptr) {
    out_f32[i] = x;
  } else {
    out_bf16[i] = f32_to_bf16(x);
  }
}

// Rows [row0, row0 + rows) of a (R, C) bf16 or fp16 matrix (is_fp16) into out (rows, C).
extern "C" __global__ void dequant_half(float* out_f32, bf16_t* out_bf16,
    const unsigned short* codes, int row0, int rows, int cols, int is_fp16) {
  long long n = (long long) rows * cols;
  CORY_FOR(i, n) {
    unsigned short h = codes[(long long) row0 * cols + i];
    store(out_f32, out_bf16, i, is_fp16 ? fp16_to_f32(h) : bf16_to_f32(h));
  }
}

// INT8: w = code * row scale; scales (R) floats start at byte scale_start.
extern "C" __global__ void dequant_int8(float* out_f32, bf16_t* out_bf16,
    const unsigned char* packed, long long scale_start, int row0, int rows, int cols) {
  long long n = (long long) rows * cols;
  CORY_FOR(i, n) {
    long long r = row0 + i / cols;
    int k = (int) (i % cols);
    signed char q = (signed char) packed[r * cols + k];
    store(out_f32, out_bf16, i, (float) q * load_f32_le(packed + scale_start + 4 * r));
  }
}

// NF4 and NF4_DQ (double_quant != 0: int8 constants at scale_start, second-level floats
// `second`, the matrix mean `mean`).
extern "C" __global__ void dequant_nf4(float* out_f32, bf16_t* out_bf16,
    const unsigned char* packed, long long scale_start, const float* second, float mean,
    int double_quant, int row0, int rows, int cols) {
  int row_bytes = (cols + 1) / 2;
  int blocks = (cols + NF4_BLOCK - 1) / NF4_BLOCK;
  long long n = (long long) rows * cols;
  CORY_FOR(i, n) {
    long long r = row0 + i / cols;
    int k = (int) (i % cols);
    unsigned char byte = packed[r * row_bytes + k / 2];
    int code = (k & 1) ? (byte & 0x0f) : (byte >> 4);
    long long c = r * blocks + k / NF4_BLOCK;
    float absmax;
    if (double_quant) {
      signed char q = (signed char) packed[scale_start + c];
      absmax = __fadd_rn(__fmul_rn((float) q, second[c / DQ_BLOCK]), mean);  // no FMA: as the CPU
    } else {
      absmax = load_f32_le(packed + scale_start + 4 * c);
    }
    store(out_f32, out_bf16, i, NF4_TABLE[code] * absmax);
  }
}

// y (n, rows) = x (n, cols) W^T (+ y when accumulate) for a packed (rows, cols) matrix and few
// input rows (n <= GEMV_MAX_ROWS: a decode step's batch), without the float32 tile: each warp
// reads one weight row once, as stored, decodes every weight as the dequant kernels above do
// (bit for bit) and keeps the n dot products; each lane takes GEMV_CHUNK consecutive columns at
// a time (one NF4 block's absmax per chunk), then a fixed-order warp sum. format: 0 bf16,
// 1 fp16, 2 int8, 3 nf4, 4 nf4 with double quantisation (scale_start, second, mean as above).
#define GEMV_MAX_ROWS 16
#define GEMV_CHUNK 8

extern "C" __global__ void gemv_packed(float* y, const float* x, const unsigned char* packed,
    long long scale_start, const float* second, float mean, int format, int n, int rows,
    int cols, int accumulate) {
  const int lane = threadIdx.x % CORY_WARP;
  const int warps = blockDim.x / CORY_WARP;
  const long long row_bytes = format <= 1 ? 2LL * cols : format == 2 ? (long long) cols
      : (long long) ((cols + 1) / 2);
  const int blocks = (cols + NF4_BLOCK - 1) / NF4_BLOCK;
  for (long long r = (long long) blockIdx.x * warps + threadIdx.x / CORY_WARP; r < rows;
       r += (long long) gridDim.x * warps) {
    const unsigned char* row = packed + r * row_bytes;
    const unsigned short* halves = (const unsigned short*) packed + r * cols;
    const float row_scale = format == 2 ? load_f32_le(packed + scale_start + 4 * r) : 1.0f;
    float acc[GEMV_MAX_ROWS];
#pragma unroll
    for (int b = 0; b < GEMV_MAX_ROWS; b++) {
      acc[b] = 0.0f;
    }
    for (int k0 = lane * GEMV_CHUNK; k0 < cols; k0 += CORY_WARP * GEMV_CHUNK) {
      float scale = row_scale;
      if (format >= 3) {
        long long c = r * blocks + k0 / NF4_BLOCK;
        if (format == 4) {
          signed char q = (signed char) packed[scale_start + c];
          scale = __fadd_rn(__fmul_rn((float) q, second[c / DQ_BLOCK]), mean);
        } else {
          scale = load_f32_le(packed + scale_start + 4 * c);
        }
      }
      const int end = min(cols, k0 + GEMV_CHUNK);
      for (int k = k0; k < end; k++) {
        float w;
        if (format <= 1) {
          w = format == 1 ? fp16_to_f32(halves[k]) : bf16_to_f32(halves[k]);
        } else if (format == 2) {
          w = (float) (signed char) row[k] * scale;
        } else {
          unsigned char byte = row[k / 2];
          w = NF4_TABLE[(k & 1) ? (byte & 0x0f) : (byte >> 4)] * scale;
        }
#pragma unroll
        for (int b = 0; b < GEMV_MAX_ROWS; b++) {
          if (b < n) {
            acc[b] += x[(long long) b * cols + k] * w;
          }
        }
      }
    }
#pragma unroll
    for (int b = 0; b < GEMV_MAX_ROWS; b++) {
      if (b < n) {
        float s = warp_sum(acc[b]);
        if (lane == 0) {
          long long at = (long long) b * rows + r;
          y[at] = accumulate ? y[at] + s : s;
        }
      }
    }
  }
}
