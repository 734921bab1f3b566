// Element-wise layers: GELU (GPT-2's tanh form), SwiGLU (Llama), residual adds, the LoRA
// scaled add, casts. Semantics as the CPU layers (common.model.Gelu, SwiGlu).

#define GELU_K0 0.7978845608028654f  // sqrt(2 / pi)
#define GELU_K1 0.044715f

// out (n) = gelu(x); out may alias x.
extern "C" __global__ void gelu_forward(float* out, const float* x, long long n) {
  CORY_FOR(i, n) {
    float v = x[i];
    float t = tanhf(GELU_K0 * (v + GELU_K1 * v * v * v));
    out[i] = 0.5f * v * (1.0f + t);
  }
}

// dx (n) = dout * gelu'(x); dx may alias dout.
extern "C" __global__ void gelu_backward(float* dx, const float* dout, const float* x,
    long long n) {
  CORY_FOR(i, n) {
    float v = x[i];
    float t = tanhf(GELU_K0 * (v + GELU_K1 * v * v * v));
    float d = 0.5f * (1.0f + t)
        + 0.5f * v * (1.0f - t * t) * GELU_K0 * (1.0f + 3.0f * GELU_K1 * v * v);
    dx[i] = dout[i] * d;
  }
}

// act (N, I) = silu(gate) * up over the fused (N, 2I) gate | up rows.
extern "C" __global__ void swiglu_forward(float* act, const float* gate_up, int rows,
    int inter) {
  long long n = (long long) rows * inter;
  CORY_FOR(i, n) {
    long long r = i / inter;
    int c = (int) (i - r * inter);
    float g = gate_up[r * 2 * inter + c];
    float u = gate_up[r * 2 * inter + inter + c];
    float s = 1.0f / (1.0f + expf(-g));
    act[i] = g * s * u;
  }
}

// d_gate_up (N, 2I) from d_act (N, I): d_gate = d * up * silu'(g), d_up = d * silu(g).
extern "C" __global__ void swiglu_backward(float* d_gate_up, const float* d_act,
    const float* gate_up, int rows, int inter) {
  long long n = (long long) rows * inter;
  CORY_FOR(i, n) {
    long long r = i / inter;
    int c = (int) (i - r * inter);
    float g = gate_up[r * 2 * inter + c];
    float u = gate_up[r * 2 * inter + inter + c];
    float s = 1.0f / (1.0f + expf(-g));
    float d = d_act[i];
    d_gate_up[r * 2 * inter + c] = d * u * s * (1.0f + g * (1.0f - s));
    d_gate_up[r * 2 * inter + inter + c] = d * g * s;
  }
}

// y (n) += alpha * x: residual adds (alpha 1) and LoRA's scaled update (alpha = scale).
extern "C" __global__ void axpy(float* y, const float* x, float alpha, long long n) {
  CORY_FOR(i, n) {
    y[i] += alpha * x[i];
  }
}

// y (n) = alpha * y.
extern "C" __global__ void scale(float* y, float alpha, long long n) {
  CORY_FOR(i, n) {
    y[i] *= alpha;
  }
}

// Column sums: out (C) += sum over rows of x (N, C) (bias gradients), one thread per column,
// rows in order (deterministic).
extern "C" __global__ void column_sum(float* out, const float* x, int rows, int cols) {
  CORY_FOR(c, cols) {
    float acc = 0.0f;
    for (int r = 0; r < rows; r++) {
      acc += x[(long long) r * cols + c];
    }
    out[c] += acc;
  }
}

// Row-broadcast bias: y (N, C) += b (C).
extern "C" __global__ void add_bias(float* y, const float* b, int rows, int cols) {
  long long n = (long long) rows * cols;
  CORY_FOR(i, n) {
    y[i] += b[i % cols];
  }
}

extern "C" __global__ void f32_to_bf16_kernel(bf16_t* out, const float* x, long long n) {
  CORY_FOR(i, n) {
    out[i] = f32_to_bf16(x[i]);
  }
}

extern "C" __global__ void bf16_to_f32_kernel(float* out, const bf16_t* x, long long n) {
  CORY_FOR(i, n) {
    out[i] = bf16_to_f32(x[i]);
  }
}
