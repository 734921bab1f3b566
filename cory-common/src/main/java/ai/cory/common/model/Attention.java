package ai.cory.common.model;

import java.util.Arrays;

/**
 * Causal multi-head attention with key padding and grouped-query heads over a fused row layout
 * {@code q | k | v} of width {@code (H + 2 KV) D} (GPT-2's c_attn output with KV = H; Llama's
 * adjacent q/k/v projections). Query head h reads key/value head {@code h / (H / KV)} (HF
 * {@code repeat_kv}). A query at i attends to keys {@code j <= i} whose mask is 1; a query with
 * no allowed key (a left-padding position) gets all-zero probabilities and output, which stays
 * finite where HF adds {@code finfo.min} (outputs at padding are undefined in both).
 *
 * <p>Work is split over (batch row, KV head) groups, each running its heads' strided GEMMs on
 * the fused buffer (cut small enough for BLAS to run them on the calling thread) next to its
 * softmax rows (cache-resident), so the cores are never synchronised per 2-MFLOP product. The
 * probabilities (B, H, T, T) are cached for the backward pass.
 */
final class Attention {
  private Attention() {}

  /** Sizes of one call. */
  record Dims(int batch, int seq, int heads, int kvHeads, int headDim) {
    int width() {
      return (heads + 2 * kvHeads) * headDim;
    }

    int outWidth() {
      return heads * headDim;
    }

    int rep() {
      return heads / kvHeads;
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
    Parallel.forRange(d.batch() * d.kvHeads(), 1, (part, from, to) -> {
      double[] s = scratch.row(part, 0, t);
      for (int task = from; task < to; task++) {
        int b = task / d.kvHeads();
        int g = task % d.kvHeads();
        for (int h = g * d.rep(); h < (g + 1) * d.rep(); h++) {
          long a = d.attOff(b, h);
          Blas.gemmOnThisThread(false, true, t, t, d.headDim(), scale, qkv, d.qOff(b, h), w,
              qkv, d.kOff(b, g), w, 0.0, att, a, t);
          for (int i = 0; i < t; i++) {
            att.read(a + (long) i * t, s, 0, t);
            maskedSoftmax(s, mask, b * t, i, t);
            att.write(a + (long) i * t, s, 0, t);
          }
          Blas.gemmOnThisThread(false, false, t, d.headDim(), t, 1.0, att, a, t,
              qkv, d.vOff(b, g), w, 0.0, y, d.yOff(b, h), d.outWidth());
        }
      }
    });
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
      Arrays.fill(s, i + 1, t, 0.0);
      return;
    }
    double max = Double.NEGATIVE_INFINITY;
    for (int j = 0; j <= i; j++) {
      if (mask[maskOff + j] != 0 && s[j] > max) {
        max = s[j];
      }
    }
    if (max == Double.NEGATIVE_INFINITY) {
      Arrays.fill(s, 0, t, 0.0);
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
    Arrays.fill(s, i + 1, t, 0.0);
  }

  /**
   * Backward: {@code dqkv (B*T, (H+2KV)*D) =} the gradient for q, k, v (overwritten). The heads
   * sharing a KV head run in one task, which owns that head's dK and dV.
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
    Parallel.forRange(d.batch() * d.kvHeads(), 1, (part, from, to) -> {
      double[] p = scratch.row(part, 0, t);
      double[] g = scratch.row(part, 1, t);
      for (int task = from; task < to; task++) {
        int b = task / d.kvHeads();
        int kv = task % d.kvHeads();
        long kOff = d.kOff(b, kv);
        long vOff = d.vOff(b, kv);
        for (int h = kv * d.rep(); h < (kv + 1) * d.rep(); h++) {
          long a = d.attOff(b, h);
          long qOff = d.qOff(b, h);
          // dP = dY V^T ; dV += P^T dY
          Blas.gemmOnThisThread(false, true, t, t, hd, 1.0, dy, d.yOff(b, h), ow, qkv, vOff, w,
              0.0, datt, a, t);
          Blas.gemmOnThisThread(true, false, t, hd, t, 1.0, att, a, t, dy, d.yOff(b, h), ow,
              1.0, dqkv, vOff, w);
          // dS = P (dP - rowsum(P dP))
          for (int i = 0; i < t; i++) {
            long at = a + (long) i * t;
            att.read(at, p, 0, i + 1);
            datt.read(at, g, 0, i + 1);
            double dot = VecMath.dot(p, 0, g, 0, i + 1);
            for (int j = 0; j <= i; j++) {
              g[j] = p[j] * (g[j] - dot);
            }
            Arrays.fill(g, i + 1, t, 0.0);
            datt.write(at, g, 0, t);
          }
          // dQ = scale dS K ; dK += scale dS^T Q
          Blas.gemmOnThisThread(false, false, t, hd, t, scale, datt, a, t, qkv, kOff, w,
              1.0, dqkv, qOff, w);
          Blas.gemmOnThisThread(true, false, t, hd, t, scale, datt, a, t, qkv, qOff, w,
              1.0, dqkv, kOff, w);
        }
      }
    });
  }
}
