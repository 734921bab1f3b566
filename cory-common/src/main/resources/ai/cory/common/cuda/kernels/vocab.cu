// The fused vocabulary pass (common.model.VocabSoftmax, LmHead): from logits z (N, V), per row,
// the log-probability of the target token, the entropy and the log-sum-exp, and with reference
// logits the exact KL(p || p_ref), without writing probabilities anywhere. One block per row;
// sums in double, in a fixed order.

// logp (N), entropy (N), lse (N); kl (N) and zref (N, V) may be null together.
extern "C" __global__ void vocab_forward(float* logp, float* entropy, float* lse, float* kl,
    const float* z, const float* zref, const int* targets, int rows, int vocab) {
  __shared__ float redf[32];
  __shared__ double redd[32];
  int r = blockIdx.x;
  if (r >= rows) {
    return;
  }
  const float* zr = z + (long long) r * vocab;
  const float* qr = zref == nullptr ? nullptr : zref + (long long) r * vocab;
  float m = -INFINITY;
  float mq = -INFINITY;
  for (int v = threadIdx.x; v < vocab; v += blockDim.x) {
    m = fmaxf(m, zr[v]);
    if (qr != nullptr) {
      mq = fmaxf(mq, qr[v]);
    }
  }
  m = block_max(m, redf);
  mq = block_max(mq, redf);
  double s = 0.0;
  double sq = 0.0;
  for (int v = threadIdx.x; v < vocab; v += blockDim.x) {
    s += exp((double) zr[v] - m);
    if (qr != nullptr) {
      sq += exp((double) qr[v] - mq);
    }
  }
  s = block_sum_d(s, redd);
  sq = block_sum_d(sq, redd);
  double l = m + log(s);
  double lq = mq + log(sq);
  double pz = 0.0;   // sum p z
  double pzq = 0.0;  // sum p zref
  for (int v = threadIdx.x; v < vocab; v += blockDim.x) {
    double p = exp((double) zr[v] - l);
    pz += p * zr[v];
    if (qr != nullptr) {
      pzq += p * qr[v];
    }
  }
  pz = block_sum_d(pz, redd);
  pzq = block_sum_d(pzq, redd);
  if (threadIdx.x == 0) {
    lse[r] = (float) l;
    logp[r] = (float) (zr[targets[r]] - l);
    entropy[r] = (float) (l - pz);
    if (kl != nullptr) {
      kl[r] = (float) ((pz - l) - (pzq - lq));
    }
  }
}

// dz (N, V) = g_logp (onehot(target) - p) - g_entropy p (log p + H), from the forward's lse and
// entropy; g_entropy may be null (no entropy term in the loss).
extern "C" __global__ void vocab_backward(float* dz, const float* z, const float* lse,
    const float* entropy, const int* targets, const float* g_logp, const float* g_entropy,
    int rows, int vocab) {
  int r = blockIdx.x;
  if (r >= rows) {
    return;
  }
  const float* zr = z + (long long) r * vocab;
  float* dr = dz + (long long) r * vocab;
  float l = lse[r];
  float gl = g_logp[r];
  float ge = g_entropy == nullptr ? 0.0f : g_entropy[r];
  float h = entropy[r];
  int t = targets[r];
  for (int v = threadIdx.x; v < vocab; v += blockDim.x) {
    float lp = zr[v] - l;
    float p = expf(lp);
    float d = -gl * p - ge * p * (lp + h);
    if (v == t) {
      d += gl;
    }
    dr[v] = d;
  }
}
