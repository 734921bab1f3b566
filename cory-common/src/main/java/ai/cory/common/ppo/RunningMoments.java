package ai.cory.common.ppo;

/**
 * Running mean and variance of every score seen so far (TRL 0.7.9 {@code RunningMoments},
 * after MOSS-RLHF), merged batch by batch with the parallel-variance formula of Chan, Golub and
 * LeVeque (1979):
 * <pre>
 *   delta = mean_b - mean;  n' = n + n_b
 *   mean' = mean + delta n_b / n'
 *   var'  = (var n + delta^2 n n_b / n' + var_b n_b) / n'     (biased; var_b biased)
 *   std'  = sqrt(var' n' / (n' - 1))                          (unbiased)
 * </pre>
 * starting from mean 0, var 1, std 1, count 1e-24 (the prior's weight is negligible after the
 * first batch). Immutable: {@link #updated} returns the next state.
 *
 * <p>Precision: TRL rounds the batch moments and the running state to float32; this class
 * keeps double throughout (differences ~1e-7 relative).
 *
 * @param mean  running mean
 * @param var   running biased variance
 * @param std   running unbiased standard deviation (the score-scaling divisor)
 * @param count number of scores seen (plus the 1e-24 prior)
 */
public record RunningMoments(double mean, double var, double std, double count) {

  /** TRL's initial count: a vanishing prior weight on (mean 0, var 1). */
  public static final double INITIAL_COUNT = 1e-24;

  /** The state before any score: mean 0, var 1, std 1, count 1e-24. */
  public static RunningMoments initial() {
    return new RunningMoments(0.0, 1.0, 1.0, INITIAL_COUNT);
  }

  /**
   * The state after merging one batch.
   *
   * @param batch moments of the batch's raw scores: on W workers the all-reduced
   *              {@link MaskedMoments} of every worker's scores (TRL's
   *              {@code get_global_statistics}); on one worker {@link MaskedMoments#twoPass(double[])}
   */
  public RunningMoments updated(MaskedMoments batch) {
    double batchCount = batch.count();
    double batchMean = batch.mean();
    double batchVar = batch.variance(false);
    double delta = batchMean - mean;
    double totalCount = count + batchCount;
    double newSum = batchVar * batchCount;
    // the old sum of squared deviations, moved to the new mean
    double oldSum = var * count + delta * delta * count * batchCount / totalCount;
    double newVar = (oldSum + newSum) / totalCount;
    double newStd = Math.sqrt(newVar * totalCount / (totalCount - 1));
    return new RunningMoments(mean + delta * batchCount / totalCount, newVar, newStd, totalCount);
  }
}
