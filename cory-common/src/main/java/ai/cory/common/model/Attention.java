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
   * Query rows per block: products of a block stay under {@link Blas#SINGLE_THREAD_MNK} so BLAS
   * runs them on the calling task's thread.
   */
  static int rowBlock(int t, int headDim) {
    return (int) Math.max(1, Math.min(t, Blas.SINGLE_THREAD_MNK / ((long) t * headDim)));
  }

  /**
   * Causal blocks: query rows {@code [r0, r1)} only see keys {@code [0, r1)}, so each product
   * skips the upper triangle (half the FLOPs of full T x T products).
   *
   * @param y    (B*T, H*D) output
   * @param att  (B, H, T, T) probabilities (cached; row i valid on [0, block end))
   * @param qkv  (B*T, (H+2KV)*D) input
   * @param mask (B*T) 1 = real key, 0 = padding
   */
  static void forward(Span y, Span att, Span qkv, int[] mask, Dims d, Scratch scratch) {
    forward(y, att, qkv, mask, d, scratch, rowBlock(d.seq(), d.headDim()));
  }

  /** {@link #forward} with an explicit block height (tests use small blocks). */
  static void forward(Span y, Span att, Span qkv, int[] mask, Dims d, Scratch scratch,
      int block) {
    int t = d.seq();
    int w = d.width();
    int hd = d.headDim();
    double scale = 1.0 / Math.sqrt(hd);
    Parallel.forRange(d.batch() * d.kvHeads(), 1, (part, from, to) -> {
      double[] s = scratch.row(part, 0, t);
      for (int task = from; task < to; task++) {
        int b = task / d.kvHeads();
        int g = task % d.kvHeads();
        for (int h = g * d.rep(); h < (g + 1) * d.rep(); h++) {
          long a = d.attOff(b, h);
          for (int r0 = 0; r0 < t; r0 += block) {
            int r1 = Math.min(t, r0 + block);
            int rows = r1 - r0;
            long aBlock = a + (long) r0 * t;
            // S[r0:r1, 0:r1] = scale Q[r0:r1] K[0:r1]^T
            Blas.gemm(false, true, rows, r1, hd, scale, qkv, d.qOff(b, h) + (long) r0 * w, w,
                qkv, d.kOff(b, g), w, 0.0, att, aBlock, t);
            for (int i = r0; i < r1; i++) {
              att.read(a + (long) i * t, s, 0, r1);
              maskedSoftmax(s, mask, b * t, i, r1);
              att.write(a + (long) i * t, s, 0, r1);
            }
            // Y[r0:r1] = P[r0:r1, 0:r1] V[0:r1]
            Blas.gemm(false, false, rows, hd, r1, 1.0, att, aBlock, t,
                qkv, d.vOff(b, g), w, 0.0, y, d.yOff(b, h) + (long) r0 * d.outWidth(),
                d.outWidth());
          }
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
   * Backward: {@code dqkv (B*T, (H+2KV)*D) =} the gradient for q, k, v (overwritten), in the
   * same causal blocks as forward. The heads sharing a KV head run in one task, which owns that
   * head's dK and dV.
   *
   * @param datt (B, H, T, T) scratch
   * @param dy   (B*T, H*D) upstream gradient
   */
  static void backward(Span dqkv, Span datt, Span dy, Span att, Span qkv, Dims d,
      Scratch scratch) {
    backward(dqkv, datt, dy, att, qkv, d, scratch, rowBlock(d.seq(), d.headDim()));
  }

  /** {@link #backward} with an explicit block height, which must match the forward's. */
  static void backward(Span dqkv, Span datt, Span dy, Span att, Span qkv, Dims d,
      Scratch scratch, int block) {
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
          for (int r0 = 0; r0 < t; r0 += block) {
            int r1 = Math.min(t, r0 + block);
            int rows = r1 - r0;
            long aBlock = a + (long) r0 * t;
            long qBlock = d.qOff(b, h) + (long) r0 * w;
            long yBlock = d.yOff(b, h) + (long) r0 * ow;
            // dP = dY V^T ; dV[0:r1] += P^T dY
            Blas.gemm(false, true, rows, r1, hd, 1.0, dy, yBlock, ow, qkv, vOff, w,
                0.0, datt, aBlock, t);
            Blas.gemm(true, false, r1, hd, rows, 1.0, att, aBlock, t, dy, yBlock, ow,
                1.0, dqkv, vOff, w);
            // dS = P (dP - rowsum(P dP)), zero right of the diagonal
            for (int i = r0; i < r1; i++) {
              long at = a + (long) i * t;
              att.read(at, p, 0, i + 1);
              datt.read(at, g, 0, i + 1);
              double dot = VecMath.dot(p, 0, g, 0, i + 1);
              for (int j = 0; j <= i; j++) {
                g[j] = p[j] * (g[j] - dot);
              }
              Arrays.fill(g, i + 1, r1, 0.0);
              datt.write(at, g, 0, r1);
            }
            // dQ[r0:r1] = scale dS K[0:r1] ; dK[0:r1] += scale dS^T Q[r0:r1]
            Blas.gemm(false, false, rows, hd, r1, scale, datt, aBlock, t, qkv, kOff, w,
                1.0, dqkv, qBlock, w);
            Blas.gemm(true, false, r1, hd, rows, scale, datt, aBlock, t, qkv, qBlock, w,
                1.0, dqkv, kOff, w);
          }
        }
      }
    });
  }
}
