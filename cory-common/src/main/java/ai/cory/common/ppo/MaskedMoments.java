package ai.cory.common.ppo;

import java.util.function.UnaryOperator;

/**
 * Additive sufficient statistics of the masked-in entries of a grid (or of a plain vector):
 * the count, and the sums of {@code x - shift} and {@code (x - shift)^2}. Records with the same
 * {@code shift} add up ({@link #plus}), so W workers can all-reduce {@link #toArray()} and get
 * exactly the moments of the whole batch.
 *
 * <p>The shift guards against cancellation in {@code sumSq / n - mean^2}. TRL computes the
 * variance in two passes ({@code masked_var}: mean first, then the mean squared deviation; in
 * distributed runs {@code get_global_statistics} all-reduces (sum, count), then the squared
 * deviations about the global mean). The same protocol here:
 * <ol>
 *   <li>{@code MaskedMoments.of(x, mask)} on every worker (shift 0), all-reduce, take
 *       {@link #mean()};
 *   <li>{@code MaskedMoments.of(x, mask, globalMean)} on every worker, all-reduce; its
 *       {@link #variance(boolean)} / {@link #trlMaskedVariance()} is TRL's two-pass variance
 *       ({@code sum} is then ~1e-16 and the correction {@code sum^2 / n} vanishes).
 * </ol>
 * {@link #allReduced(double[][], double[][], UnaryOperator)} runs both rounds given the
 * all-reduce; one worker with the whole batch uses {@link #twoPass}. A single round with shift 0 is exact
 * in real arithmetic and fine whenever |mean| is not large compared with the standard deviation.
 *
 * @param count number of masked-in entries n (a double: it is all-reduced with the sums)
 * @param shift the constant subtracted before summing; equal on every worker
 * @param sum   sum over masked-in entries of {@code x - shift}
 * @param sumSq sum over masked-in entries of {@code (x - shift)^2}
 */
public record MaskedMoments(double count, double shift, double sum, double sumSq) {

  /** Number of doubles in {@link #toArray()}. */
  public static final int ARRAY_LENGTH = 3;

  public MaskedMoments {
    if (!(count >= 0) || !Double.isFinite(shift)) {
      throw new IllegalArgumentException("MaskedMoments needs count >= 0 and a finite shift, got count "
          + count + ", shift " + shift);
    }
  }

  /** No entries, about {@code shift}: the identity of {@link #plus}. */
  public static MaskedMoments empty(double shift) {
    return new MaskedMoments(0, shift, 0, 0);
  }

  /** Moments of the masked-in entries of {@code x} about 0. */
  public static MaskedMoments of(double[][] x, double[][] mask) {
    return of(x, mask, 0.0);
  }

  /**
   * Moments of the masked-in entries of {@code x} about {@code shift}. Masked-out entries are
   * skipped (not multiplied by 0), so a non-finite value there cannot poison the sums.
   */
  public static MaskedMoments of(double[][] x, double[][] mask, double shift) {
    Grids.requireGrid("x", x);
    Grids.requireMask(mask, "x", x);
    double n = 0;
    double s = 0;
    double q = 0;
    for (int j = 0; j < x.length; j++) {
      for (int t = 0; t < x[j].length; t++) {
        if (mask[j][t] != 0.0) {
          double d = x[j][t] - shift;
          n += 1;
          s += d;
          q += d * d;
        }
      }
    }
    return new MaskedMoments(n, shift, s, q);
  }

  /** Moments of all entries of a vector (e.g. the scores of a batch) about {@code shift}. */
  public static MaskedMoments of(double[] xs, double shift) {
    double s = 0;
    double q = 0;
    for (double x : xs) {
      double d = x - shift;
      s += d;
      q += d * d;
    }
    return new MaskedMoments(xs.length, shift, s, q);
  }

  /**
   * The two-round protocol above on this worker's shard: the moments of the masked-in entries
   * of the WHOLE batch about its mean, identical on every worker.
   *
   * @param sumAcrossWorkers element-wise SUM all-reduce of a small double array (every worker
   *                         calls this method in step); {@code UnaryOperator.identity()} on one worker
   */
  public static MaskedMoments allReduced(double[][] x, double[][] mask, UnaryOperator<double[]> sumAcrossWorkers) {
    double globalMean = fromArray(0.0, sumAcrossWorkers.apply(of(x, mask).toArray())).mean();
    return fromArray(globalMean, sumAcrossWorkers.apply(of(x, mask, globalMean).toArray()));
  }

  /** {@link #allReduced(double[][], double[][], UnaryOperator)} for a vector of this worker's values (e.g. scores). */
  public static MaskedMoments allReduced(double[] xs, UnaryOperator<double[]> sumAcrossWorkers) {
    double globalMean = fromArray(0.0, sumAcrossWorkers.apply(of(xs, 0.0).toArray())).mean();
    return fromArray(globalMean, sumAcrossWorkers.apply(of(xs, globalMean).toArray()));
  }

  /** Two-pass moments of the masked-in entries of {@code x}, about their own mean (one worker). */
  public static MaskedMoments twoPass(double[][] x, double[][] mask) {
    return of(x, mask, of(x, mask).mean());
  }

  /** Two-pass moments of all entries of a vector, about their own mean (one worker). */
  public static MaskedMoments twoPass(double[] xs) {
    requireNonEmpty(xs.length);
    return of(xs, of(xs, 0.0).mean());
  }

  /** Sum of two sets of moments taken about the same shift (e.g. two workers' shards). */
  public MaskedMoments plus(MaskedMoments other) {
    if (Double.compare(shift, other.shift) != 0) {
      throw new IllegalArgumentException("cannot add moments about different shifts: " + shift + " vs "
          + other.shift + " (every worker must use the same shift)");
    }
    return new MaskedMoments(count + other.count, shift, sum + other.sum, sumSq + other.sumSq);
  }

  /** Mean of the entries. */
  public double mean() {
    requireNonEmpty(count);
    return shift + sum / count;
  }

  /**
   * Variance of the entries: biased ({@code / n}) or unbiased (times {@code n / (n - 1)}, TRL's
   * Bessel correction in {@code masked_var}).
   *
   * @throws IllegalStateException if there are no entries, or only one and {@code unbiased}
   *     (TRL divides by zero there)
   */
  public double variance(boolean unbiased) {
    requireNonEmpty(count);
    double meanDeviation = sum / count;
    double biased = sumSq / count - meanDeviation * meanDeviation;
    if (!unbiased) {
      return biased;
    }
    if (count <= 1) {
      throw new IllegalStateException("unbiased variance needs at least 2 masked-in entries, got " + count
          + " (TRL divides by zero here: use a larger mini-batch)");
    }
    return biased * (count / (count - 1));
  }

  /**
   * TRL's {@code masked_var(values, mask, unbiased=True)} bit for bit: the biased variance times
   * the Bessel factor {@code n / (n - 1)} computed in FLOAT32, because TRL's mask is an integer
   * tensor and torch divides integer tensors in the default float type. The factor differs from
   * the exact one by at most ~6e-8 relative; matching it lets the PPO step agree with TRL (and
   * the golden file) to ~1e-15 instead of ~1e-8. Used for advantage and reward whitening and
   * the {@code returns/var}, {@code val/var} statistics.
   *
   * @throws IllegalStateException with fewer than 2 entries
   */
  public double trlMaskedVariance() {
    double biased = variance(false);
    if (count <= 1) {
      throw new IllegalStateException("unbiased variance needs at least 2 masked-in entries, got " + count
          + " (TRL divides by zero here: use a larger mini-batch)");
    }
    float bessel = (float) count / (float) (count - 1);
    return biased * bessel;
  }

  /** {@code {count, sum, sumSq}}: the doubles to all-reduce with SUM (the shift is agreed upon). */
  public double[] toArray() {
    return new double[] {count, sum, sumSq};
  }

  /** Inverse of {@link #toArray()} for moments about {@code shift}. */
  public static MaskedMoments fromArray(double shift, double[] sums) {
    if (sums.length != ARRAY_LENGTH) {
      throw new IllegalArgumentException("MaskedMoments array must have " + ARRAY_LENGTH + " entries, got "
          + sums.length);
    }
    return new MaskedMoments(sums[0], shift, sums[1], sums[2]);
  }

  private static void requireNonEmpty(double n) {
    if (n == 0) {
      throw new IllegalStateException("no masked-in entries: the mean and variance are undefined "
          + "(TRL raises 'The sum of the mask is zero')");
    }
  }
}
