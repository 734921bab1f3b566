package ai.cory.common.ppo;

import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Statistics of one position's full-vocabulary distribution, from a pair of log-softmax rows.
 * Working on one row (or one (N, V) block of rows) at a time lets the engine stream positions
 * column by column instead of holding the policy's and the reference's (B, T, V) tensors.
 *
 * <p>Sums are accumulated in double. Terms with {@code p(v) == 0} (log-prob -inf or underflow)
 * contribute exactly 0, their limit; TRL's formula would give NaN for a -inf log-prob.
 */
public final class FullVocab {
  private FullVocab() {}

  /**
   * KL(p || p_ref) = {@code sum_v p(v) (log p(v) - log p_ref(v))}, p = exp(logProbs): TRL's
   * {@code kl_penalty="full"}. Non-negative up to rounding when both rows are normalised.
   *
   * @param logProbs    (V) log-softmax of the policy's logits at one position
   * @param refLogProbs (V) log-softmax of the reference's logits at the same position
   */
  public static double kl(double[] logProbs, double[] refLogProbs) {
    requireSameLength(logProbs.length, refLogProbs.length);
    double kl = 0;
    for (int v = 0; v < logProbs.length; v++) {
      double p = Math.exp(logProbs[v]);
      if (p != 0.0) {
        kl += p * (logProbs[v] - refLogProbs[v]);
      }
    }
    return kl;
  }

  /** {@link #kl(double[], double[])} for float32 rows, accumulated in double. */
  public static double kl(float[] logProbs, float[] refLogProbs) {
    requireSameLength(logProbs.length, refLogProbs.length);
    double kl = 0;
    for (int v = 0; v < logProbs.length; v++) {
      double lp = logProbs[v];
      double p = Math.exp(lp);
      if (p != 0.0) {
        kl += p * (lp - refLogProbs[v]);
      }
    }
    return kl;
  }

  /**
   * Entropy {@code -sum_v p(v) log p(v)} of one position (TRL {@code entropy_from_logits}:
   * {@code logsumexp(z) - sum softmax(z) z}, the same quantity written with logits).
   *
   * @param logProbs (V) log-softmax row
   */
  public static double entropy(double[] logProbs) {
    double h = 0;
    for (double lp : logProbs) {
      double p = Math.exp(lp);
      if (p != 0.0) {
        h -= p * lp;
      }
    }
    return h;
  }

  /** {@link #entropy(double[])} for a float32 row, accumulated in double. */
  public static double entropy(float[] logProbs) {
    double h = 0;
    for (float lpf : logProbs) {
      double lp = lpf;
      double p = Math.exp(lp);
      if (p != 0.0) {
        h -= p * lp;
      }
    }
    return h;
  }

  /**
   * {@link #kl(double[], double[])} for each row of two (N, V) log-softmax blocks of any
   * floating type, e.g. the B rows of one column: one bulk copy to the heap per block, then the
   * same double-precision loop as the row version.
   *
   * @return (N) per-row KL
   */
  public static double[] klRows(INDArray logProbs, INDArray refLogProbs) {
    requireMatrix("logProbs", logProbs);
    requireMatrix("refLogProbs", refLogProbs);
    if (!Arrays.equals(logProbs.shape(), refLogProbs.shape())) {
      throw new IllegalArgumentException("logProbs has shape " + Arrays.toString(logProbs.shape())
          + " but refLogProbs has shape " + Arrays.toString(refLogProbs.shape()));
    }
    int rows = (int) logProbs.rows();
    int vocab = (int) logProbs.columns();
    double[] lp = hostDoubles(logProbs); // (N * V) row-major
    double[] ref = hostDoubles(refLogProbs);
    double[] out = new double[rows];
    for (int i = 0; i < rows; i++) {
      double kl = 0;
      for (int v = i * vocab, end = v + vocab; v < end; v++) {
        double l = lp[v];
        double p = Math.exp(l);
        if (p != 0.0) {
          kl += p * (l - ref[v]);
        }
      }
      out[i] = kl;
    }
    return out;
  }

  /** {@link #entropy(double[])} for each row of an (N, V) log-softmax block (as {@link #klRows}); returns (N). */
  public static double[] entropyRows(INDArray logProbs) {
    requireMatrix("logProbs", logProbs);
    int rows = (int) logProbs.rows();
    int vocab = (int) logProbs.columns();
    double[] lp = hostDoubles(logProbs); // (N * V) row-major
    double[] out = new double[rows];
    for (int i = 0; i < rows; i++) {
      double h = 0;
      for (int v = i * vocab, end = v + vocab; v < end; v++) {
        double l = lp[v];
        double p = Math.exp(l);
        if (p != 0.0) {
          h -= p * l;
        }
      }
      out[i] = h;
    }
    return out;
  }

  /**
   * The block widened to double as one row-major heap array, in a single bulk copy (per-row
   * {@code getRow} copies cost more than the arithmetic).
   */
  private static double[] hostDoubles(INDArray block) {
    long elements = block.length();
    if (elements > Integer.MAX_VALUE) {
      throw new IllegalArgumentException("block of " + elements + " elements is too large: pass fewer rows");
    }
    return block.castTo(DataType.DOUBLE).dup('c').data().asDouble();
  }

  private static void requireSameLength(int a, int b) {
    if (a != b) {
      throw new IllegalArgumentException("logProbs has " + a + " entries but refLogProbs has " + b
          + " (both must cover the whole vocabulary)");
    }
  }

  private static void requireMatrix(String name, INDArray a) {
    if (a.rank() != 2) {
      throw new IllegalArgumentException(name + " must be rank 2 (N, V), got shape " + Arrays.toString(a.shape()));
    }
  }
}
