// The fused vocabulary pass (common.model.VocabSoftmax, LmHead) over a block of head rows: per
// row, the log-sum-exp, the taken token's log-probability, the entropy and, against a
// reference's log-probabilities, the exact KL(p || q), without writing probabilities anywhere.
// One block per row; sums in double, in a fixed order. Row k's statistics go to index stat[k]
// of the (B, T) lse / entropy / kl arrays and its taken-token log-prob to logp_at[k] of the
// (B, T-1) logp array (none at -1: the last column has no next token).

// z (rows, V) logits, replaced by the log-probs z - lse when to_log_probs. entropy may be null;
// kl and zref ((rows, V) reference log-probs) are null together. The KL's log p is rounded to
// float as the reference's stored log q is, so two equal models are exactly 0 apart.
extern "C" __global__ void vocab_forward(float* lse, float* logp, float* entropy, float* kl,
    float* z, const float* zref, const int* targets, const int* stat, const int* logp_at,
    int rows, int vocab, int to_log_probs) {
  __shared__ float redf[32];
  __shared__ double redd[32];
  int r = blockIdx.x;
  if (r >= rows) {
    return;
  }
  float* zr = z + (long long) r * vocab;
  const float* qr = zref == nullptr ? nullptr : zref + (long long) r * vocab;
  float m = -INFINITY;
  for (int v = threadIdx.x; v < vocab; v += blockDim.x) {
    m = fmaxf(m, zr[v]);
  }
  m = block_max(m, redf);
  double s = 0.0;
  for (int v = threadIdx.x; v < vocab; v += blockDim.x) {
    s += exp((double) zr[v] - m);
  }
  s = block_sum_d(s, redd);
  double l = m + log(s);
  double pz = 0.0;   // sum p z
  double pk = 0.0;   // sum p (log p - log q)
  for (int v = threadIdx.x; v < vocab; v += blockDim.x) {
    double p = exp((double) zr[v] - l);
    pz += p * zr[v];
    if (qr != nullptr) {
      pk += p * ((double) (float) (zr[v] - l) - qr[v]);
    }
  }
  pz = block_sum_d(pz, redd);
  pk = block_sum_d(pk, redd);
  int at = stat[r];
  if (threadIdx.x == 0) {
    lse[at] = (float) l;
    if (logp_at[r] >= 0) {
      logp[logp_at[r]] = (float) (zr[targets[r]] - l);
    }
    if (entropy != nullptr) {
      entropy[at] = (float) (l - pz);
    }
    if (kl != nullptr) {
      kl[at] = (float) pk;
    }
  }
  if (to_log_probs) {
    __syncthreads();  // the target's logit is read above before it is overwritten
    for (int v = threadIdx.x; v < vocab; v += blockDim.x) {
      zr[v] = (float) (zr[v] - l);
    }
  }
}

// z (rows, V): the forward's logits (p = exp(z - lse[stat[k]])) or, with holds_log_probs, its
// log-probs (p = exp(z)); replaced by dL/dz = g + dl onehot(target) - p (dl + sum g), with dl the
// upstream gradient g_logp[logp_at[k]] of the taken-token log-prob (0 at -1) and g the row of
// g_full, the upstream gradient of the full log-probs (null: 0).
extern "C" __global__ void vocab_backward(float* z, const float* lse, const float* g_logp,
    const float* g_full, const int* targets, const int* stat, const int* logp_at, int rows,
    int vocab, int holds_log_probs) {
  __shared__ double redd[32];
  int r = blockIdx.x;
  if (r >= rows) {
    return;
  }
  float* zr = z + (long long) r * vocab;
  const float* gr = g_full == nullptr ? nullptr : g_full + (long long) r * vocab;
  double shift = holds_log_probs ? 0.0 : (double) lse[stat[r]];
  double dl = logp_at[r] >= 0 ? (double) g_logp[logp_at[r]] : 0.0;
  double total = dl;
  if (gr != nullptr) {
    double sg = 0.0;
    for (int v = threadIdx.x; v < vocab; v += blockDim.x) {
      sg += gr[v];
    }
    total += block_sum_d(sg, redd);
  }
  int t = logp_at[r] >= 0 ? targets[r] : -1;
  for (int v = threadIdx.x; v < vocab; v += blockDim.x) {
    double d = -exp((double) zr[v] - shift) * total;
    if (gr != nullptr) {
      d += gr[v];
    }
    if (v == t) {
      d += dl;
    }
    zr[v] = (float) d;
  }
}
