package ai.cory.common.model;

import org.nd4j.linalg.api.buffer.DataType;

/**
 * Row-wise log-softmax over the vocabulary of a block of logits, fused with everything PPO reads
 * from it, so the (rows, V) block is traversed once forward and once backward:
 * {@code lse = log sum_v exp(z_v)}, the taken token's {@code logp = z[target] - lse}, the entropy
 * {@code lse - sum_v p_v z_v}, and optionally the full log-probabilities {@code z - lse} written
 * over the logits in place.
 *
 * <p>Backward with upstream {@code dlogp} (taken token) and {@code g} (full log-probs, optional):
 * {@code dz_v = g_v + dlogp [v = target] - p_v (dlogp + sum_u g_u)}.
 */
final class VocabSoftmax {
  private static final int MIN_ROWS_PER_PART = 2;

  private VocabSoftmax() {}

  /** Where the per-row results of one block go. */
  record Rows(int count, int[] targets, int[] statIndex, int[] logpIndex) {
    // targets[r]: taken next token or -1; statIndex[r]: index into (B, T) lse / entropy;
    // logpIndex[r]: index into (B, T-1) logp or -1.
  }

  /**
   * @param z        (rows, V) logits of this block; replaced by log-probs when {@code toLogProbs}
   * @param lse      (B*T) log-sum-exp per position (written at statIndex)
   * @param logp     (B*(T-1)) taken-token log-prob (written at logpIndex)
   * @param entropy  (B*T) entropy per position, or null
   * @param refLogProbs (all rows, V) log-probs of a reference model for the same rows, or null
   * @param kl       (B*T) {@code sum_v p_v (log p_v - log q_v)} against refLogProbs, or null
   */
  static void forward(Span z, int vocab, Rows rows, int rowOffset, int count, Span lse, Span logp,
      Span entropy, boolean toLogProbs, Span refLogProbs, Span kl, Scratch scratch) {
    boolean single = z.dataType() == DataType.FLOAT;
    Parallel.forRange(count, MIN_ROWS_PER_PART, (part, from, to) -> {
      double[] zr = scratch.row(part, 0, vocab);
      double[] er = scratch.row(part, 1, vocab);
      double[] qr = refLogProbs != null ? scratch.row(part, 2, vocab) : null;
      for (int k = from; k < to; k++) {
        int r = rowOffset + k;
        long at = (long) k * vocab;
        z.read(at, zr, 0, vocab);
        double m = VecMath.max(zr, 0, vocab);
        double s = VecMath.expShift(zr, 0, er, 0, vocab, m);
        double l = m + Math.log(s);
        lse.set(rows.statIndex()[r], l);
        if (rows.logpIndex()[r] >= 0) {
          logp.set(rows.logpIndex()[r], zr[rows.targets()[r]] - l);
        }
        if (entropy != null) {
          entropy.set(rows.statIndex()[r], l - VecMath.dot(er, 0, zr, 0, vocab) / s);
        }
        if (refLogProbs != null) {
          refLogProbs.read((long) r * vocab, qr, 0, vocab);
          // log p rounded to the model's precision like the reference's stored log q, so two
          // identical models (a LoRA agent at B = 0 and its base) are exactly 0 apart
          if (single) {
            for (int v = 0; v < vocab; v++) {
              qr[v] = (float) (zr[v] - l) - qr[v];
            }
          } else {
            for (int v = 0; v < vocab; v++) {
              qr[v] = zr[v] - l - qr[v];
            }
          }
          kl.set(rows.statIndex()[r], VecMath.dot(er, 0, qr, 0, vocab) / s);
        }
        if (toLogProbs) {
          for (int v = 0; v < vocab; v++) {
            zr[v] -= l;
          }
          z.write(at, zr, 0, vocab);
        }
      }
    });
  }

  /**
   * Replaces the block {@code z} (logits, or log-probs when {@code holdsLogProbs}) by the
   * gradient w.r.t. the logits.
   *
   * @param dLogp (B*(T-1)) upstream gradient of the taken-token log-probs
   * @param dFull (rows, V) upstream gradient of the full log-probs of this block, or null
   */
  static void backward(Span z, int vocab, Rows rows, int rowOffset, int count, Span lse,
      boolean holdsLogProbs, Span dLogp, Span dFull, Scratch scratch) {
    Parallel.forRange(count, MIN_ROWS_PER_PART, (part, from, to) -> {
      double[] zr = scratch.row(part, 0, vocab);
      double[] pr = scratch.row(part, 1, vocab);
      double[] gr = scratch.row(part, 2, vocab);
      for (int k = from; k < to; k++) {
        int r = rowOffset + k;
        long at = (long) k * vocab;
        z.read(at, zr, 0, vocab);
        double shift = holdsLogProbs ? 0.0 : lse.get(rows.statIndex()[r]);
        int li = rows.logpIndex()[r];
        double dl = li >= 0 ? dLogp.get(li) : 0.0;
        if (dFull != null) {
          VecMath.expShift(zr, 0, pr, 0, vocab, shift);
          dFull.read(at, gr, 0, vocab);
          double total = dl;
          for (int v = 0; v < vocab; v++) {
            total += gr[v];
          }
          for (int v = 0; v < vocab; v++) {
            gr[v] -= pr[v] * total;
          }
        } else {
          VecMath.expShift(zr, 0, gr, 0, vocab, shift);
          VecMath.scale(gr, 0, vocab, -dl);
        }
        if (li >= 0) {
          gr[rows.targets()[r]] += dl;
        }
        z.write(at, gr, 0, vocab);
      }
    });
  }
}
