// Token (and, for GPT-2, learned position) embeddings (common.model.Embedding).

// out (N, C) = wte[tokens[r]] (+ wpe[positions[r]] when wpe is not null).
extern "C" __global__ void embedding_forward(float* out, const int* tokens, const int* positions,
    const float* wte, const float* wpe, int rows, int cols) {
  long long n = (long long) rows * cols;
  CORY_FOR(i, n) {
    long long r = i / cols;
    int c = (int) (i - r * cols);
    float v = wte[(long long) tokens[r] * cols + c];
    if (wpe != nullptr) {
      v += wpe[(long long) positions[r] * cols + c];
    }
    out[i] = v;
  }
}

// dwte (V, C) += scattered dout rows; dwpe likewise when not null. Rows sharing a token add in
// an unspecified order (float atomics): the one kernel whose bits may vary run to run. LoRA
// training never calls it (the embeddings are frozen).
extern "C" __global__ void embedding_backward(float* dwte, float* dwpe, const float* dout,
    const int* tokens, const int* positions, int rows, int cols) {
  long long n = (long long) rows * cols;
  CORY_FOR(i, n) {
    long long r = i / cols;
    int c = (int) (i - r * cols);
    atomicAdd(&dwte[(long long) tokens[r] * cols + c], dout[i]);
    if (dwpe != nullptr) {
      atomicAdd(&dwpe[(long long) positions[r] * cols + c], dout[i]);
    }
  }
}
