package ai.cory.common.ppo;

/**
 * Per-token rewards (TRL 0.7.9 {@code PPOTrainer.compute_rewards}; Ziegler et al. 2019, eq. 2):
 * {@code r_t = -beta * kl_t} on every column, plus the sequence's score at its LAST masked-in
 * column. Nothing is masked here: GAE multiplies by the mask.
 */
public final class Rewards {
  private Rewards() {}

  /**
   * Rewards and their KL part.
   *
   * @param nonScoreReward (B, T) {@code -beta * kl} on every column
   * @param rewards        (B, T) {@code nonScoreReward} plus the score at each row's last
   *                       masked-in column
   */
  public record PerToken(double[][] nonScoreReward, double[][] rewards) {}

  /**
   * @param scores (B) one scalar score per sequence (after any scaling / clipping)
   * @param kl     (B, T) per-token KL estimate ({@link KlPenalty})
   * @param mask   (B, T) 1 on response columns; every row needs at least one
   * @param klCoef beta, the KL controller's current coefficient
   */
  public static PerToken compute(double[] scores, double[][] kl, double[][] mask, double klCoef) {
    Grids.requireGrid("kl", kl);
    Grids.requireMask(mask, "kl", kl);
    if (scores.length != kl.length) {
      throw new IllegalArgumentException("scores has " + scores.length + " entries but kl has " + kl.length
          + " rows");
    }
    int rows = kl.length;
    int cols = kl[0].length;
    double[][] nonScore = new double[rows][cols];
    double[][] rewards = new double[rows][cols];
    for (int j = 0; j < rows; j++) {
      for (int t = 0; t < cols; t++) {
        nonScore[j][t] = -klCoef * kl[j][t];
        rewards[j][t] = nonScore[j][t];
      }
      rewards[j][lastMaskedIn(mask, j)] += scores[j];
    }
    return new PerToken(nonScore, rewards);
  }

  /** Index of the last masked-in column of row {@code j} (TRL: {@code mask.nonzero()[-1]}). */
  static int lastMaskedIn(double[][] mask, int j) {
    for (int t = mask[j].length - 1; t >= 0; t--) {
      if (mask[j][t] != 0.0) {
        return t;
      }
    }
    throw new IllegalArgumentException("mask row " + j + " has no masked-in column: every sequence needs a "
        + "non-empty response");
  }
}
