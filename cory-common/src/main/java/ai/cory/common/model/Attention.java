package ai.cory.common.model;

/**
 * Causal multi-head attention with key padding and grouped-query heads over a fused row layout
 * {@code q | k | v} of width {@code (H + 2 KV) D} (GPT-2's c_attn output with KV = H; Llama's
 * adjacent q/k/v projections). Query head h reads key/value head {@code h / (H / KV)} (HF
 * {@code repeat_kv}). A query at i attends to keys {@code j <= i} whose mask is 1; a query with
 * no allowed key (a left-padding position) gets all-zero probabilities and output, which stays
 * finite where HF adds {@code finfo.min} (outputs at padding are undefined in both).
 *
 * <p>Per (batch row, head) the two products are strided GEMMs straight on the fused buffer;
 * the probabilities (B, H, T, T) are cached for the backward pass.
 */
final class Attention {
  private static final int MIN_ROWS_PER_PART = 64;

  private Attention() {}

  /** Sizes of one call. */
  record Dims(int batch, int seq, int heads, int kvHeads, int headDim) {
    int width() {
      return (heads + 2 * kvHeads) * headDim;
    }

    int outWidth() {
      return heads * headDim;
    }

    int group(int h) {
      return h / (heads / kvHeads);
    }

    long qOff(int b, int h) {
      return (long) b * seq * width() + (long) h * headDim;
    }

    long kOff(int b, int g) {
      return (long) b * seq * width() + (long) (heads + g) * headDim;
    }

    long vOff(int b, int g) {
      return (long) b * seq * width() + (long) (heads + kvHeads + g) * headDim;
    }

    long yOff(int b, int h) {
      return (long) b * seq * outWidth() + (long) h * headDim;
    }

    long attOff(int b, int h) {
      return ((long) b * heads + h) * seq * seq;
    }
  }

  /**
   * @param y    (B*T, H*D) output
   * @param att  (B, H, T, T) probabilities (cached)
   * @param qkv  (B*T, (H+2KV)*D) input
   * @param mask (B*T) 1 = real key, 0 = padding
   */
  static void forward(Span y, Span att, Span qkv, int[] mask, Dims d, Scratch scratch) {
    int t = d.seq();
    int w = d.width();
    double scale = 1.0 / Math.sqrt(d.headDim());
    for (int b = 0; b < d.batch(); b++) {
      for (int h = 0; h < d.heads(); h++) {
        Blas.gemm(false, true, t, t, d.headDim(), scale, qkv, d.qOff(b, h), w,
            qkv, d.kOff(b, d.group(h)), w, 0.0, att, d.attOff(b, h), t);
      }
    }
    int rows = d.batch() * d.heads() * t;
    Parallel.forRange(rows, MIN_ROWS_PER_PART, (part, from, to) -> {
      double[] s = scratch.row(part, 0, t);
      for (int row = from; row < to; row++) {
        int b = row / (d.heads() * t);
        int i = row % t;
        long at = (long) row * t;
        att.read(at, s, 0, t);
        maskedSoftmax(s, mask, b * t, i, t);
        att.write(at, s, 0, t);
      }
    });
    for (int b = 0; b < d.batch(); b++) {
      for (int h = 0; h < d.heads(); h++) {
        Blas.gemm(false, false, t, d.headDim(), t, 1.0, att, d.attOff(b, h), t,
            qkv, d.vOff(b, d.group(h)), w, 0.0, y, d.yOff(b, h), d.outWidth());
      }
    }
  }

  /**
   * Softmax of {@code s[0..i]} over the keys with mask 1 (causal: keys after i excluded);
   * everything else 0. All-zero when no key is allowed.
   */
  static void maskedSoftmax(double[] s, int[] mask, int maskOff, int i, int t) {
    boolean dense = true;
    for (int j = 0; j <= i && dense; j++) {
      dense = mask[maskOff + j] != 0;
    }
    if (dense) {
      // No padding among keys 0..i (the common case): vector exp over the prefix.
      double max = VecMath.max(s, 0, i + 1);
      double sum = VecMath.expShift(s, 0, s, 0, i + 1, max);
      VecMath.scale(s, 0, i + 1, 1.0 / sum);
      java.util.Arrays.fill(s, i + 1, t, 0.0);
      return;
    }
    double max = Double.NEGATIVE_INFINITY;
    for (int j = 0; j <= i; j++) {
      if (mask[maskOff + j] != 0 && s[j] > max) {
        max = s[j];
      }
    }
    if (max == Double.NEGATIVE_INFINITY) {
      java.util.Arrays.fill(s, 0, t, 0.0);
      return;
    }
    double sum = 0;
    for (int j = 0; j <= i; j++) {
      double e = mask[maskOff + j] != 0 ? Math.exp(s[j] - max) : 0.0;
      s[j] = e;
      sum += e;
    }
    double inv = 1.0 / sum;
    for (int j = 0; j <= i; j++) {
      s[j] *= inv;
    }
    java.util.Arrays.fill(s, i + 1, t, 0.0);
  }

  /**
   * Backward: {@code dqkv (B*T, (H+2KV)*D) =} the gradient for q, k, v (overwritten).
   *
   * @param datt (B, H, T, T) scratch
   * @param dy   (B*T, H*D) upstream gradient
   */
  static void backward(Span dqkv, Span datt, Span dy, Span att, Span qkv, Dims d,
      Scratch scratch) {
    int t = d.seq();
    int w = d.width();
    int ow = d.outWidth();
    int hd = d.headDim();
    double scale = 1.0 / Math.sqrt(hd);
    dqkv.zero(0, (long) d.batch() * t * w);
    for (int b = 0; b < d.batch(); b++) {
      for (int h = 0; h < d.heads(); h++) {
        long vOff = d.vOff(b, d.group(h));
        // dP = dY V^T ; dV += P^T dY
        Blas.gemm(false, true, t, t, hd, 1.0, dy, d.yOff(b, h), ow, qkv, vOff, w,
            0.0, datt, d.attOff(b, h), t);
        Blas.gemm(true, false, t, hd, t, 1.0, att, d.attOff(b, h), t, dy, d.yOff(b, h), ow,
            1.0, dqkv, vOff, w);
      }
    }
    int rows = d.batch() * d.heads() * t;
    Parallel.forRange(rows, MIN_ROWS_PER_PART, (part, from, to) -> {
      double[] p = scratch.row(part, 0, t);
      double[] g = scratch.row(part, 1, t);
      for (int row = from; row < to; row++) {
        long at = (long) row * t;
        att.read(at, p, 0, t);
        datt.read(at, g, 0, t);
        double dot = VecMath.dot(p, 0, g, 0, t);
        for (int j = 0; j < t; j++) {
          g[j] = p[j] * (g[j] - dot);
        }
        datt.write(at, g, 0, t);
      }
    });
    for (int b = 0; b < d.batch(); b++) {
      for (int h = 0; h < d.heads(); h++) {
        long qOff = d.qOff(b, h);
        long kOff = d.kOff(b, d.group(h));
        // dQ = scale dS K ; dK += scale dS^T Q
        Blas.gemm(false, false, t, hd, t, scale, datt, d.attOff(b, h), t, qkv, kOff, w,
            1.0, dqkv, qOff, w);
        Blas.gemm(true, false, t, hd, t, scale, datt, d.attOff(b, h), t, qkv, qOff, w,
            1.0, dqkv, kOff, w);
      }
    }
  }
}
