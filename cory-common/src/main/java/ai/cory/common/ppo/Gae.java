package ai.cory.common.ppo;

/**
 * Generalized advantage estimation (Schulman et al. 2016, eq. 16) as TRL 0.7.9
 * {@code PPOTrainer.compute_advantages} does it: on every column of {@code values * mask} and
 * {@code rewards * mask}, with V := 0 past the last column,
 * <pre>
 *   delta_t = r_t + gamma V_{t+1} - V_t
 *   A_t     = delta_t + gamma lam A_{t+1}
 *   returns = A + V
 * </pre>
 * The advantages are returned BEFORE whitening: whitening is batch-wide, so the caller applies
 * {@link MaskedStats#whiten(double[][], MaskedMoments, boolean)} with the moments of the whole
 * batch (or {@link MaskedStats#whiten(double[][], double[][], boolean)} on one worker).
 * Advantages are non-zero on the query column just before each response (V there is 0 but
 * V_{t+1} is not); the mask removes them from the loss.
 */
public final class Gae {
  private Gae() {}

  /**
   * @param maskedValues (B, T) {@code values * mask}: the old values the loss clips against
   * @param advantages   (B, T) GAE advantages before whitening
   * @param returns      (B, T) {@code advantages + maskedValues}: the value-loss targets
   */
  public record Result(double[][] maskedValues, double[][] advantages, double[][] returns) {}

  /**
   * GAE without reward whitening (TRL {@code whiten_rewards=False}, the default).
   *
   * @param values  (B, T) value-head outputs at every column (unmasked)
   * @param rewards (B, T) per-token rewards from {@link Rewards#compute} (unmasked)
   * @param mask    (B, T) 0/1 response mask
   * @param gamma   discount
   * @param lam     GAE lambda
   */
  public static Result compute(double[][] values, double[][] rewards, double[][] mask, double gamma, double lam) {
    Grids.requireGrid("values", values);
    Grids.requireSameShape("rewards", rewards, "values", values);
    Grids.requireMask(mask, "values", values);
    return recurse(Grids.multiply(values, mask), Grids.multiply(rewards, mask), gamma, lam);
  }

  /**
   * GAE with TRL's {@code whiten_rewards=True}: the masked rewards are whitened with
   * {@code shift_mean=False} using {@code rewardMoments}, the all-reduced
   * {@link MaskedMoments} of {@code (rewards, mask)} over the whole batch (or
   * {@link MaskedMoments#twoPass} on one worker).
   *
   * <p>TRL 0.7.9 quirk, reproduced on purpose: the whitened rewards are not masked again, so a
   * masked-out column carries {@code mean (1 - 1/std)} instead of 0 and the padding columns
   * after a short response leak into its advantages. Off by default and unused by CORY.
   */
  public static Result computeWithWhitenedRewards(double[][] values, double[][] rewards, double[][] mask,
      double gamma, double lam, MaskedMoments rewardMoments) {
    Grids.requireGrid("values", values);
    Grids.requireSameShape("rewards", rewards, "values", values);
    Grids.requireMask(mask, "values", values);
    double[][] whitened = MaskedStats.whiten(Grids.multiply(rewards, mask), rewardMoments, false);
    return recurse(Grids.multiply(values, mask), whitened, gamma, lam);
  }

  /** The plain reversed loop over columns, all rows at once (same order as TRL). */
  private static Result recurse(double[][] values, double[][] rewards, double gamma, double lam) {
    int rows = values.length;
    int cols = values[0].length;
    double[][] advantages = new double[rows][cols];
    double[][] returns = new double[rows][cols];
    for (int j = 0; j < rows; j++) {
      double lastGaeLam = 0.0;
      for (int t = cols - 1; t >= 0; t--) {
        double nextValue = t < cols - 1 ? values[j][t + 1] : 0.0;
        double delta = rewards[j][t] + gamma * nextValue - values[j][t];
        lastGaeLam = delta + gamma * lam * lastGaeLam;
        advantages[j][t] = lastGaeLam;
        returns[j][t] = lastGaeLam + values[j][t];
      }
    }
    return new Result(values, advantages, returns);
  }
}
