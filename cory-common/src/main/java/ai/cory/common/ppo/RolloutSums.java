package ai.cory.common.ppo;

import ai.cory.common.metrics.MetricNames;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Additive sums over a rollout batch behind TRL's step statistics ({@code record_step_stats})
 * and the KL controller's input. Workers all-reduce {@link #toArray()} (SUM) and read the
 * whole batch's numbers.
 *
 * @param sequences          number of sequences (rows)
 * @param tokens             masked-in (response) tokens
 * @param klSum              sum over rows of the row's masked KL sum
 * @param negLogProbSum      sum of {@code -logprob} over masked-in tokens
 * @param nonScoreRewardSum  sum of {@code -beta kl} over masked-in tokens
 * @param rewardSum          sum of the per-token rewards (KL part + score) over masked-in tokens
 * @param scores             moments of the scores used for the rewards, about 0
 */
public record RolloutSums(
    double sequences,
    double tokens,
    double klSum,
    double negLogProbSum,
    double nonScoreRewardSum,
    double rewardSum,
    MaskedMoments scores) {

  private static final int SCALARS = 6;

  /** Number of doubles in {@link #toArray()}. */
  public static final int ARRAY_LENGTH = SCALARS + MaskedMoments.ARRAY_LENGTH;

  /**
   * Sums of this worker's rows.
   *
   * @param kl             (B, T) per-token KL estimate
   * @param logProbs       (B, T) rollout log-probs of the sampled tokens
   * @param nonScoreReward (B, T) from {@link Rewards.PerToken}
   * @param rewards        (B, T) from {@link Rewards.PerToken}
   * @param mask           (B, T) 0/1 response mask
   * @param scores         (B) the scores that went into the rewards
   */
  public static RolloutSums of(double[][] kl, double[][] logProbs, double[][] nonScoreReward, double[][] rewards,
      double[][] mask, double[] scores) {
    Grids.requireGrid("kl", kl);
    Grids.requireSameShape("logProbs", logProbs, "kl", kl);
    Grids.requireSameShape("nonScoreReward", nonScoreReward, "kl", kl);
    Grids.requireSameShape("rewards", rewards, "kl", kl);
    if (scores.length != kl.length) {
      throw new IllegalArgumentException("scores has " + scores.length + " entries but kl has " + kl.length + " rows");
    }
    MaskedMoments klMoments = MaskedMoments.of(kl, mask);
    return new RolloutSums(kl.length, klMoments.count(), klMoments.sum(),
        -MaskedMoments.of(logProbs, mask).sum(), MaskedMoments.of(nonScoreReward, mask).sum(),
        MaskedMoments.of(rewards, mask).sum(), MaskedMoments.of(scores, 0.0));
  }

  /** Sums of two shards. */
  public RolloutSums plus(RolloutSums o) {
    return new RolloutSums(sequences + o.sequences, tokens + o.tokens, klSum + o.klSum,
        negLogProbSum + o.negLogProbSum, nonScoreRewardSum + o.nonScoreRewardSum, rewardSum + o.rewardSum,
        scores.plus(o.scores));
  }

  /** {@code objective/kl}: mean over sequences of the summed masked KL; the KL controller's input. */
  public double objectiveKl() {
    return klSum / sequences;
  }

  /** {@code objective/entropy}: mean over sequences of the summed {@code -logprob} (a sampled estimate). */
  public double objectiveEntropy() {
    return negLogProbSum / sequences;
  }

  /** {@code ppo/mean_non_score_reward}: masked mean of {@code -beta kl} per token. */
  public double meanNonScoreReward() {
    return nonScoreRewardSum / tokens;
  }

  /** Mean over sequences of the summed per-token rewards (the CORY fork's {@code ppo/average_reward}). */
  public double meanSequenceReward() {
    return rewardSum / sequences;
  }

  /** {@code tokens/responses_len_mean} as masked tokens per sequence. */
  public double meanResponseLength() {
    return tokens / sequences;
  }

  /** The rollout statistics of a PPO step under their metric names ({@link MetricNames}). */
  public Map<String, Double> metrics() {
    Map<String, Double> m = new LinkedHashMap<>();
    m.put(MetricNames.KL, objectiveKl());
    m.put(MetricNames.ENTROPY, objectiveEntropy());
    m.put(MetricNames.MEAN_NON_SCORE_REWARD, meanNonScoreReward());
    m.put(MetricNames.MEAN_SCORES, scores.mean());
    m.put(MetricNames.STD_SCORES, scores.count() > 1 ? Math.sqrt(scores.variance(true)) : Double.NaN);
    m.put(MetricNames.AVERAGE_REWARD, meanSequenceReward());
    m.put(MetricNames.RESPONSES_LEN_MEAN, meanResponseLength());
    return m;
  }

  /** The doubles to all-reduce with SUM, in a fixed order. */
  public double[] toArray() {
    double[] out = new double[ARRAY_LENGTH];
    double[] scalars = {sequences, tokens, klSum, negLogProbSum, nonScoreRewardSum, rewardSum};
    System.arraycopy(scalars, 0, out, 0, SCALARS);
    System.arraycopy(scores.toArray(), 0, out, SCALARS, MaskedMoments.ARRAY_LENGTH);
    return out;
  }

  /** Inverse of {@link #toArray()}. */
  public static RolloutSums fromArray(double[] a) {
    if (a.length != ARRAY_LENGTH) {
      throw new IllegalArgumentException("RolloutSums array must have " + ARRAY_LENGTH + " entries, got " + a.length);
    }
    return new RolloutSums(a[0], a[1], a[2], a[3], a[4], a[5],
        MaskedMoments.fromArray(0.0, Arrays.copyOfRange(a, SCALARS, ARRAY_LENGTH)));
  }
}
