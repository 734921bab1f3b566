// Next-token choice on the device with the CPU sampler's semantics (common.sampling.
// LogitsSampler, Hugging Face generate()): repetition penalty on the distinct ids of the row,
// greedy = first index of the maximum, temperature, top-k (ties with the k-th kept), top-p
// (ascending stable order, remove cumulative probability <= 1 - top_p, always keep the last),
// then an inverse-CDF draw with the row's uniform from the host's CounterRng. Scores in double.
// The draw scans ids in ascending order (the CPU scans its kept set in descending score order):
// the same distribution, a different token for the same uniform. Greedy choices are identical.
// One block of SAMPLE_THREADS threads per row; scores (N, V) is device scratch.

#define SAMPLE_THREADS 1024

// Order-preserving map of a double to an unsigned 64-bit key (-inf smallest).
__device__ __forceinline__ unsigned long long order_key(double x) {
  unsigned long long u = (unsigned long long) __double_as_longlong(x);
  return (u >> 63) ? ~u : (u | 0x8000000000000000ull);
}

__device__ int block_count(int v, float* red) {
  return (int) block_sum((float) v, red);
}

// Count of ids with key >= x (exact while V < 2^24).
__device__ int count_at_least(const double* s, int vocab, unsigned long long x, float* red) {
  int c = 0;
  for (int v = threadIdx.x; v < vocab; v += blockDim.x) {
    c += order_key(s[v]) >= x ? 1 : 0;
  }
  return block_count(c, red);
}

// Mass (sum of w) of ids with key < x.
__device__ double mass_below(const double* s, const double* w, int vocab, unsigned long long x,
    double* red) {
  double m = 0.0;
  for (int v = threadIdx.x; v < vocab; v += blockDim.x) {
    m += order_key(s[v]) < x ? w[v] : 0.0;
  }
  return block_sum_d(m, red);
}

extern "C" __global__ void __launch_bounds__(SAMPLE_THREADS) sample_tokens(int* out,
    double* scores, double* weights, const float* logits, const int* history,
    const int* history_len, int history_stride, const double* uniforms, const int* active,
    int rows, int vocab, float temperature, int top_k, float top_p, float penalty, int greedy) {
  __shared__ float redf[32];
  __shared__ double redd[32];
  __shared__ double chunk[SAMPLE_THREADS];
  __shared__ int besti[SAMPLE_THREADS];
  int r = blockIdx.x;
  if (r >= rows || active[r] == 0) {
    return;
  }
  double* s = scores + (long long) r * vocab;
  double* w = weights + (long long) r * vocab;
  for (int v = threadIdx.x; v < vocab; v += blockDim.x) {
    s[v] = (double) logits[(long long) r * vocab + v];
  }
  __syncthreads();
  if (penalty != 1.0f) {
    const int* hist = history + (long long) r * history_stride;
    int n = history_len[r];
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
      int id = hist[i];
      bool first = true;
      for (int j = 0; j < i && first; j++) {
        first = hist[j] != id;
      }
      if (first) {
        double x = s[id];
        s[id] = x < 0 ? x * penalty : x / penalty;
      }
    }
    __syncthreads();
  }
  if (greedy) {
    double best = -INFINITY;
    int bi = vocab;
    for (int v = threadIdx.x; v < vocab; v += blockDim.x) {
      if (bi == vocab || s[v] > best) {
        best = s[v];
        bi = v;
      }
    }
    chunk[threadIdx.x] = best;
    besti[threadIdx.x] = bi;
    __syncthreads();
    if (threadIdx.x == 0) {
      double bb = chunk[0];
      int bidx = besti[0];
      for (int t = 1; t < blockDim.x; t++) {
        if (besti[t] < vocab && (chunk[t] > bb || (chunk[t] == bb && besti[t] < bidx))) {
          bb = chunk[t];
          bidx = besti[t];
        }
      }
      out[r] = bidx;
    }
    return;
  }
  if (temperature != 1.0f) {
    for (int v = threadIdx.x; v < vocab; v += blockDim.x) {
      s[v] /= temperature;
    }
    __syncthreads();
  }
  if (top_k > 0 && top_k < vocab) {
    unsigned long long x = 0;  // the k-th largest key, bit by bit
    for (int bit = 63; bit >= 0; bit--) {
      unsigned long long cand = x | (1ull << bit);
      if (count_at_least(s, vocab, cand, redf) >= top_k) {
        x = cand;
      }
    }
    for (int v = threadIdx.x; v < vocab; v += blockDim.x) {
      if (order_key(s[v]) < x) {
        s[v] = -INFINITY;
      }
    }
    __syncthreads();
  }
  double m = -INFINITY;
  for (int v = threadIdx.x; v < vocab; v += blockDim.x) {
    m = fmax(m, s[v]);
  }
  chunk[threadIdx.x] = m;
  __syncthreads();
  if (threadIdx.x == 0) {
    double mm = chunk[0];
    for (int t = 1; t < blockDim.x; t++) {
      mm = fmax(mm, chunk[t]);
    }
    chunk[0] = mm;
  }
  __syncthreads();
  m = chunk[0];
  __syncthreads();
  double total = 0.0;
  for (int v = threadIdx.x; v < vocab; v += blockDim.x) {
    double e = s[v] == -INFINITY ? 0.0 : exp(s[v] - m);
    w[v] = e;
    total += e;
  }
  total = block_sum_d(total, redd);
  if (top_p < 1.0f) {
    double removable = (1.0 - (double) top_p) * total;
    unsigned long long x = 0;  // the largest key x with mass(key < x) <= removable
    for (int bit = 63; bit >= 0; bit--) {
      unsigned long long cand = x | (1ull << bit);
      if (mass_below(s, w, vocab, cand, redd) <= removable) {
        x = cand;
      }
    }
    double below = mass_below(s, w, vocab, x, redd);
    // Ties at key x: remove the lowest ids while the cumulative mass stays <= removable.
    int tied = 0;
    double tw = 0.0;
    for (int v = threadIdx.x; v < vocab; v += blockDim.x) {
      if (order_key(s[v]) == x) {
        tied++;
        tw = w[v];
      }
    }
    tied = block_count(tied, redf);
    chunk[threadIdx.x] = tw;
    __syncthreads();
    if (threadIdx.x == 0) {
      double t0 = 0.0;
      for (int t = 0; t < blockDim.x; t++) {
        t0 = fmax(t0, chunk[t]);
      }
      chunk[0] = t0;
    }
    __syncthreads();
    double wt = chunk[0];
    __syncthreads();
    int removeTied = 0;
    if (tied > 0 && wt > 0.0) {
      removeTied = (int) fmin((double) tied, floor((removable - below) / wt));
    }
    // The removeTied lowest ids among the ties: the largest y with count(tied ids < y) <= n.
    int y = 0;
    for (int bit = 30; bit >= 0; bit--) {
      int cand = y | (1 << bit);
      int c = 0;
      for (int v = threadIdx.x; v < vocab; v += blockDim.x) {
        c += (order_key(s[v]) == x && v < cand) ? 1 : 0;
      }
      if (block_count(c, redf) <= removeTied) {
        y = cand;
      }
    }
    int keep = -1;  // the last id of the ascending order is always kept
    for (int v = threadIdx.x; v < vocab; v += blockDim.x) {
      if (s[v] == m) {
        keep = max(keep, v);
      }
    }
    besti[threadIdx.x] = keep;
    __syncthreads();
    if (threadIdx.x == 0) {
      int k = -1;
      for (int t = 0; t < blockDim.x; t++) {
        k = max(k, besti[t]);
      }
      besti[0] = k;
    }
    __syncthreads();
    keep = besti[0];
    __syncthreads();
    double kept = 0.0;
    for (int v = threadIdx.x; v < vocab; v += blockDim.x) {
      unsigned long long k = order_key(s[v]);
      bool removed = k < x || (k == x && v < y);
      if (removed && v != keep) {
        w[v] = 0.0;
      }
      kept += w[v];
    }
    total = block_sum_d(kept, redd);
  }
  // Inverse CDF over ids in ascending order: thread t owns ids [t * per, (t + 1) * per).
  int per = (vocab + blockDim.x - 1) / blockDim.x;
  int from = threadIdx.x * per;
  int to = min(vocab, from + per);
  double cs = 0.0;
  for (int v = from; v < to; v++) {
    cs += w[v];
  }
  chunk[threadIdx.x] = cs;
  __syncthreads();
  if (threadIdx.x == 0) {
    double target = uniforms[r] * total;
    double acc = 0.0;
    int owner = -1;
    int lastNonZero = -1;
    for (int t = 0; t < blockDim.x; t++) {
      if (chunk[t] > 0.0) {
        lastNonZero = t;
      }
      if (owner < 0 && acc + chunk[t] > target) {
        owner = t;
        break;
      }
      acc += chunk[t];
    }
    if (owner < 0) {
      owner = lastNonZero;
      acc = 0.0;
      for (int t = 0; t < owner; t++) {
        acc += chunk[t];
      }
    }
    int f = owner * per;
    int e = min(vocab, f + per);
    int pick = -1;
    for (int v = f; v < e; v++) {
      if (w[v] > 0.0) {
        pick = v;
        acc += w[v];
        if (acc > target) {
          break;
        }
      }
    }
    out[r] = pick;
  }
}
