// Causal multi-head attention with key padding and grouped-query heads over the fused row
// layout q | k | v of width (H + 2 KV) D (common.model.Attention): query head h reads key/value
// head h / (H / KV); a query at i attends to keys j <= i whose mask is 1; a query with no
// allowed key gets all-zero probabilities and output. Every sum runs in a fixed order.

struct AttnDims {
  int batch, seq, heads, kv_heads, head_dim;
};

__device__ __forceinline__ long long qkv_width(int heads, int kv, int d) {
  return (long long) (heads + 2 * kv) * d;
}

// p[0..n) = softmax(p[0..n)) over the block; all zero when every score is -inf (no key
// allowed). Ends with __syncthreads(): p is complete for every thread after the call.
__device__ void softmax_in_place(float* p, int n, float* red) {
  float m = -INFINITY;
  for (int j = threadIdx.x; j < n; j += blockDim.x) {
    m = fmaxf(m, p[j]);
  }
  m = block_max(m, red);
  float sum = 0.0f;
  for (int j = threadIdx.x; j < n; j += blockDim.x) {
    float e = m == -INFINITY ? 0.0f : expf(p[j] - m);
    p[j] = e;
    sum += e;
  }
  sum = block_sum(sum, red);
  float inv = sum > 0.0f ? 1.0f / sum : 0.0f;
  for (int j = threadIdx.x; j < n; j += blockDim.x) {
    p[j] *= inv;
  }
  __syncthreads();
}

// Probabilities of query row i of (b, h) into p[0..i] (shared), zero when no key is allowed;
// returns nothing, p is complete after the call (ends with __syncthreads()).
__device__ void attention_row(float* p, const float* q, const float* qkv, const int* mask,
    int b, int g, int i, int seq, long long width, int heads, int kv, int d, float scale,
    float* red) {
  for (int j = threadIdx.x; j <= i; j += blockDim.x) {
    float s = -INFINITY;
    if (mask[b * seq + j] != 0) {
      const float* k = qkv + ((long long) b * seq + j) * width + (long long) (heads + g) * d;
      float acc = 0.0f;
      for (int e = 0; e < d; e++) {
        acc += q[e] * k[e];
      }
      s = acc * scale;
    }
    p[j] = s;
  }
  __syncthreads();
  softmax_in_place(p, i + 1, red);
}

// y (B*T, H*D), att (B, H, T, T) cached probabilities (row i valid on [0, i], zero after).
// grid (T, H, B); dynamic shared memory T floats.
extern "C" __global__ void attention_forward(float* y, float* att, const float* qkv,
    const int* mask, int batch, int seq, int heads, int kv, int d, float scale) {
  extern __shared__ float p[];
  __shared__ float red[32];
  int i = blockIdx.x;
  int h = blockIdx.y;
  int b = blockIdx.z;
  int g = h / (heads / kv);
  long long width = qkv_width(heads, kv, d);
  const float* q = qkv + ((long long) b * seq + i) * width + (long long) h * d;
  attention_row(p, q, qkv, mask, b, g, i, seq, width, heads, kv, d, scale, red);
  float* arow = att + (((long long) b * heads + h) * seq + i) * seq;
  for (int j = threadIdx.x; j < seq; j += blockDim.x) {
    arow[j] = j <= i ? p[j] : 0.0f;
  }
  float* yrow = y + ((long long) b * seq + i) * ((long long) heads * d) + (long long) h * d;
  for (int e = threadIdx.x; e < d; e += blockDim.x) {
    float acc = 0.0f;
    for (int j = 0; j <= i; j++) {
      const float* v = qkv + ((long long) b * seq + j) * width + (long long) (heads + kv + g) * d;
      acc += p[j] * v[e];
    }
    yrow[e] = acc;
  }
}

// Backward, part 1 (grid (T, H, B)): ds = p (dp - sum p dp) with dp_j = dy_i . v_j into dsc
// (B, H, T, T), and the query gradient dq_i = scale * sum_j ds_j k_j written into dqkv's q part.
// Dynamic shared memory T floats.
extern "C" __global__ void attention_backward_query(float* dqkv, float* dsc, const float* dy,
    const float* att, const float* qkv, int batch, int seq, int heads, int kv, int d,
    float scale) {
  extern __shared__ float ds[];
  __shared__ float red[32];
  int i = blockIdx.x;
  int h = blockIdx.y;
  int b = blockIdx.z;
  int g = h / (heads / kv);
  long long width = qkv_width(heads, kv, d);
  const float* arow = att + (((long long) b * heads + h) * seq + i) * seq;
  const float* dyr = dy + ((long long) b * seq + i) * ((long long) heads * d) + (long long) h * d;
  float dot = 0.0f;
  for (int j = threadIdx.x; j <= i; j += blockDim.x) {
    const float* v = qkv + ((long long) b * seq + j) * width + (long long) (heads + kv + g) * d;
    float acc = 0.0f;
    for (int e = 0; e < d; e++) {
      acc += dyr[e] * v[e];
    }
    ds[j] = acc;
    dot += arow[j] * acc;
  }
  dot = block_sum(dot, red);
  float* srow = dsc + (((long long) b * heads + h) * seq + i) * seq;
  for (int j = threadIdx.x; j < seq; j += blockDim.x) {
    float s = j <= i ? arow[j] * (ds[j] - dot) : 0.0f;
    if (j <= i) {
      ds[j] = s;
    }
    srow[j] = s;
  }
  __syncthreads();
  float* dq = dqkv + ((long long) b * seq + i) * width + (long long) h * d;
  for (int e = threadIdx.x; e < d; e += blockDim.x) {
    float acc = 0.0f;
    for (int j = 0; j <= i; j++) {
      acc += ds[j] * qkv[((long long) b * seq + j) * width + (long long) (heads + g) * d + e];
    }
    dq[e] = acc * scale;
  }
}

// Backward, part 2 (grid (T, KV, B), one thread per feature): for key j of KV head g,
// dk_j = scale * sum_{h in g} sum_{i >= j} ds_ij q_i and dv_j = sum_{h in g} sum_{i >= j}
// p_ij dy_i, written into dqkv's k and v parts.
extern "C" __global__ void attention_backward_key(float* dqkv, const float* dsc,
    const float* dy, const float* att, const float* qkv, int batch, int seq, int heads, int kv,
    int d, float scale) {
  int j = blockIdx.x;
  int g = blockIdx.y;
  int b = blockIdx.z;
  int rep = heads / kv;
  long long width = qkv_width(heads, kv, d);
  long long ywidth = (long long) heads * d;
  for (int e = threadIdx.x; e < d; e += blockDim.x) {
    float dk = 0.0f;
    float dv = 0.0f;
    for (int h = g * rep; h < (g + 1) * rep; h++) {
      long long plane = ((long long) b * heads + h) * seq;
      for (int i = j; i < seq; i++) {
        long long row = (long long) b * seq + i;
        dk += dsc[(plane + i) * seq + j] * qkv[row * width + (long long) h * d + e];
        dv += att[(plane + i) * seq + j] * dy[row * ywidth + (long long) h * d + e];
      }
    }
    long long at = ((long long) b * seq + j) * width;
    dqkv[at + (long long) (heads + g) * d + e] = dk * scale;
    dqkv[at + (long long) (heads + kv + g) * d + e] = dv;
  }
}

// Copies the k and v parts of T rows per batch row (qkv (B*T, width)) into the caches
// (B, KV, max_len, D) at positions [pos0, pos0 + T).
extern "C" __global__ void kv_cache_write(float* kc, float* vc, const float* qkv, int batch,
    int seq, int heads, int kv, int d, int pos0, int max_len) {
  long long width = qkv_width(heads, kv, d);
  long long n = (long long) batch * seq * kv * d;
  CORY_FOR(i, n) {
    int e = (int) (i % d);
    long long rest = i / d;
    int g = (int) (rest % kv);
    rest /= kv;
    int t = (int) (rest % seq);
    int b = (int) (rest / seq);
    const float* row = qkv + ((long long) b * seq + t) * width;
    long long at = (((long long) b * kv + g) * max_len + pos0 + t) * d + e;
    kc[at] = row[(long long) (heads + g) * d + e];
    vc[at] = row[(long long) (heads + kv + g) * d + e];
  }
}

// A chunk of n new columns over the caches (common.model.CachedForward): the query of row
// (b, i) of the chunk, qkv row b * n + i, attends to cache slots [0, c0 + i] whose mask
// (B, max_len) is 1 (the chunk's own keys already written at c0 + i); y (B*n, H*D). A decode
// step is n = 1. grid (n, H, B); dynamic shared memory c0 + n floats.
extern "C" __global__ void attention_cached(float* y, const float* qkv, const float* kc,
    const float* vc, const int* mask, int batch, int n, int heads, int kv, int d, int c0,
    int max_len, float scale) {
  extern __shared__ float p[];
  __shared__ float red[32];
  int i = blockIdx.x;
  int h = blockIdx.y;
  int b = blockIdx.z;
  int g = h / (heads / kv);
  int len = c0 + i + 1;
  long long row = (long long) b * n + i;
  const float* q = qkv + row * qkv_width(heads, kv, d) + (long long) h * d;
  const float* kbase = kc + ((long long) b * kv + g) * max_len * d;
  const float* vbase = vc + ((long long) b * kv + g) * max_len * d;
  for (int j = threadIdx.x; j < len; j += blockDim.x) {
    float s = -INFINITY;
    if (mask[(long long) b * max_len + j] != 0) {
      float acc = 0.0f;
      for (int e = 0; e < d; e++) {
        acc += q[e] * kbase[(long long) j * d + e];
      }
      s = acc * scale;
    }
    p[j] = s;
  }
  __syncthreads();
  softmax_in_place(p, len, red);
  float* yr = y + row * heads * d + (long long) h * d;
  for (int e = threadIdx.x; e < d; e += blockDim.x) {
    float acc = 0.0f;
    for (int j = 0; j < len; j++) {
      acc += p[j] * vbase[(long long) j * d + e];
    }
    yr[e] = acc;
  }
}
