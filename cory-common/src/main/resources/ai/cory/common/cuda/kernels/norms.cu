// RMSNorm (Llama) and LayerNorm (GPT-2), one block per row; the gain/bias gradients by column
// in a second kernel (one thread per column, rows in order: deterministic, no atomics).
// Semantics as common.model.RmsNorm / LayerNorm: statistics in float32 here (double on CPU).

// out (N, C) = w * x * rstd, rstd (N) = 1 / sqrt(mean(x^2) + eps).
extern "C" __global__ void rmsnorm_forward(float* out, float* rstd, const float* x,
    const float* w, int rows, int cols, float eps) {
  __shared__ float red[32];
  int r = blockIdx.x;
  if (r >= rows) {
    return;
  }
  const float* xr = x + (long long) r * cols;
  float ss = 0.0f;
  for (int c = threadIdx.x; c < cols; c += blockDim.x) {
    ss += xr[c] * xr[c];
  }
  ss = block_sum(ss, red);
  float rs = rsqrtf(ss / cols + eps);
  float* o = out + (long long) r * cols;
  for (int c = threadIdx.x; c < cols; c += blockDim.x) {
    o[c] = xr[c] * rs * w[c];
  }
  if (threadIdx.x == 0) {
    rstd[r] = rs;
  }
}

// dx (N, C) += rstd * (g - n * mean(g * n)) with n = x * rstd, g = dout * w.
extern "C" __global__ void rmsnorm_backward(float* dx, const float* dout, const float* x,
    const float* rstd, const float* w, int rows, int cols) {
  __shared__ float red[32];
  int r = blockIdx.x;
  if (r >= rows) {
    return;
  }
  long long base = (long long) r * cols;
  float rs = rstd[r];
  float dot = 0.0f;
  for (int c = threadIdx.x; c < cols; c += blockDim.x) {
    dot += dout[base + c] * w[c] * x[base + c] * rs;
  }
  float m = block_sum(dot, red) / cols;
  for (int c = threadIdx.x; c < cols; c += blockDim.x) {
    float n = x[base + c] * rs;
    dx[base + c] += rs * (dout[base + c] * w[c] - n * m);
  }
}

// dw (C) += sum_rows dout * x * rstd.
extern "C" __global__ void rmsnorm_dw(float* dw, const float* dout, const float* x,
    const float* rstd, int rows, int cols) {
  CORY_FOR(c, cols) {
    float acc = 0.0f;
    for (int r = 0; r < rows; r++) {
      long long i = (long long) r * cols + c;
      acc += dout[i] * x[i] * rstd[r];
    }
    dw[c] += acc;
  }
}

// out (N, C) = (x - mean) * rstd * w + b; mean, rstd (N) cached for the backward pass.
extern "C" __global__ void layernorm_forward(float* out, float* mean, float* rstd,
    const float* x, const float* w, const float* b, int rows, int cols, float eps) {
  __shared__ float red[32];
  int r = blockIdx.x;
  if (r >= rows) {
    return;
  }
  const float* xr = x + (long long) r * cols;
  float s = 0.0f;
  for (int c = threadIdx.x; c < cols; c += blockDim.x) {
    s += xr[c];
  }
  float mu = block_sum(s, red) / cols;
  float v = 0.0f;
  for (int c = threadIdx.x; c < cols; c += blockDim.x) {
    float d = xr[c] - mu;
    v += d * d;
  }
  float rs = rsqrtf(block_sum(v, red) / cols + eps);
  float* o = out + (long long) r * cols;
  for (int c = threadIdx.x; c < cols; c += blockDim.x) {
    o[c] = (xr[c] - mu) * rs * w[c] + b[c];
  }
  if (threadIdx.x == 0) {
    mean[r] = mu;
    rstd[r] = rs;
  }
}

// dx (N, C) += rstd * (g - mean(g) - n * mean(g * n)), n = (x - mean) * rstd, g = dout * w.
extern "C" __global__ void layernorm_backward(float* dx, const float* dout, const float* x,
    const float* mean, const float* rstd, const float* w, int rows, int cols) {
  __shared__ float red[32];
  int r = blockIdx.x;
  if (r >= rows) {
    return;
  }
  long long base = (long long) r * cols;
  float mu = mean[r];
  float rs = rstd[r];
  float sg = 0.0f;
  float sgn = 0.0f;
  for (int c = threadIdx.x; c < cols; c += blockDim.x) {
    float g = dout[base + c] * w[c];
    sg += g;
    sgn += g * (x[base + c] - mu) * rs;
  }
  float mg = block_sum(sg, red) / cols;
  float mgn = block_sum(sgn, red) / cols;
  for (int c = threadIdx.x; c < cols; c += blockDim.x) {
    float n = (x[base + c] - mu) * rs;
    dx[base + c] += rs * (dout[base + c] * w[c] - mg - n * mgn);
  }
}

// dw (C) += sum_rows dout * n, db (C) += sum_rows dout.
extern "C" __global__ void layernorm_dwdb(float* dw, float* db, const float* dout,
    const float* x, const float* mean, const float* rstd, int rows, int cols) {
  CORY_FOR(c, cols) {
    float aw = 0.0f;
    float ab = 0.0f;
    for (int r = 0; r < rows; r++) {
      long long i = (long long) r * cols + c;
      aw += dout[i] * (x[i] - mean[r]) * rstd[r];
      ab += dout[i];
    }
    dw[c] += aw;
    db[c] += ab;
  }
}
