package ai.cory.common.ppo;

/**
 * TRL's masked helpers ({@code trl/core.py}: {@code masked_mean}, {@code masked_var},
 * {@code masked_whiten}) over (B, T) grids with a 0/1 mask, in double precision.
 *
 * <p>Masked-out entries are skipped rather than multiplied by 0: identical results for finite
 * inputs, and a non-finite value in a padding column cannot turn the statistic into NaN.
 */
public final class MaskedStats {
  /** Added to the variance before the inverse square root in whitening (TRL hard-codes 1e-8). */
  public static final double WHITEN_EPS = 1e-8;

  private MaskedStats() {}

  /** {@code sum(x * mask) / sum(mask)} over the whole grid. */
  public static double mean(double[][] x, double[][] mask) {
    return MaskedMoments.of(x, mask).mean();
  }

  /**
   * Two-pass masked variance: {@code masked_mean((x - masked_mean(x))^2)}, times TRL's
   * {@code n / (n - 1)} if {@code unbiased} (see {@link MaskedMoments#trlMaskedVariance()}).
   */
  public static double variance(double[][] x, double[][] mask, boolean unbiased) {
    MaskedMoments m = MaskedMoments.twoPass(x, mask);
    return unbiased ? m.trlMaskedVariance() : m.variance(false);
  }

  /**
   * TRL {@code masked_whiten(x, mask, shift_mean)} on one worker holding the whole batch:
   * mean and UNBIASED variance ({@link MaskedMoments#trlMaskedVariance()}) over the masked-in
   * entries, then
   * {@code (x - mean) / sqrt(var + 1e-8)} on EVERY entry (masked-out ones included), plus the
   * mean back again if {@code shiftMean} is false.
   */
  public static double[][] whiten(double[][] x, double[][] mask, boolean shiftMean) {
    return whiten(x, MaskedMoments.twoPass(x, mask), shiftMean);
  }

  /**
   * {@link #whiten(double[][], double[][], boolean)} with moments gathered elsewhere (the
   * all-reduced moments of the whole batch, see {@link MaskedMoments}), applied to this worker's
   * shard {@code x}.
   */
  public static double[][] whiten(double[][] x, MaskedMoments globalMoments, boolean shiftMean) {
    Grids.requireGrid("x", x);
    double mean = globalMoments.mean();
    double invStd = 1.0 / Math.sqrt(globalMoments.trlMaskedVariance() + WHITEN_EPS);
    double[][] out = new double[x.length][x[0].length];
    for (int j = 0; j < x.length; j++) {
      for (int t = 0; t < x[j].length; t++) {
        double w = (x[j][t] - mean) * invStd;
        out[j][t] = shiftMean ? w : w + mean;
      }
    }
    return out;
  }

  /** Per row, the sum of the masked-in entries: {@code (x * mask).sum(-1)}, shape (B). */
  public static double[] rowSums(double[][] x, double[][] mask) {
    Grids.requireGrid("x", x);
    Grids.requireMask(mask, "x", x);
    double[] out = new double[x.length];
    for (int j = 0; j < x.length; j++) {
      double s = 0;
      for (int t = 0; t < x[j].length; t++) {
        if (mask[j][t] != 0.0) {
          s += x[j][t];
        }
      }
      out[j] = s;
    }
    return out;
  }
}
