package ai.cory.common.ppo;

/**
 * The clipped PPO loss of TRL 0.7.9 {@code PPOTrainer.loss} (Schulman et al. 2017, eq. 7, plus
 * the clipped value loss of the OpenAI baselines / TRL), its statistics, and its analytic
 * gradients with respect to the fresh log-probs and value predictions:
 * <pre>
 *   r        = exp(logp - old_logp)
 *   pg_loss  = masked_mean(max(-A r, -A clamp(r, 1 - cliprange, 1 + cliprange)))
 *   v_clip   = max(min(v, V_old + cliprange_value), V_old - cliprange_value)
 *   vf_loss  = 0.5 masked_mean(max((v - R)^2, (v_clip - R)^2))
 *   loss     = pg_loss + vf_coef vf_loss        (all 0 if masked_mean(r) > ratio_threshold)
 * </pre>
 * Gradients, with N the number of masked-in tokens and m the mask:
 * <pre>
 *   d loss / d logp_t = m_t / N * (-A_t r_t)          unless the clipped policy term is strictly larger
 *   d loss / d v_t    = m_t / N * vf_coef (v_t - R_t) unless the clipped value term is strictly larger
 * </pre>
 * and 0 where the clipped term is strictly larger (the clamp is then saturated, so its
 * derivative is 0). <b>Tie convention</b>: where the two terms of a {@code max} are equal the
 * unclipped term's derivative is used. For the policy term a tie with A != 0 means r lies inside
 * (or on the edge of) the clip range, where both terms have the same derivative, so every
 * split of the tie, torch's equal split included, gives this same number (this is the
 * ratio = 1 case of the golden PPO step). The value term can differ from torch only on a
 * measure-zero set: v exactly on the clip boundary (torch's min/max split gives 3/4 of it) or
 * R exactly midway between v outside the range and its clipped value (torch gives 1/2).
 *
 * <p>Distributed use: each worker computes {@link #sums} on its shard, the sums are all-reduced,
 * {@link #stats} gives the minibatch statistics (identical on every worker), and
 * {@link #gradients} scales by the global token count, so the all-reduced (summed) parameter
 * gradients equal those of the whole minibatch. With gradient accumulation the trainer scales
 * the upstream gradients by {@code 1 / gradient_accumulation_steps} as accelerate does.
 *
 * @param cliprange      epsilon of the ratio clip (TRL {@code cliprange})
 * @param cliprangeValue half-width of the value clip around the old values (TRL {@code cliprange_value})
 * @param vfCoef         weight of the value loss in the total (TRL {@code vf_coef})
 * @param ratioThreshold skip the minibatch when the masked mean ratio exceeds this (TRL {@code ratio_threshold})
 */
public record PpoLoss(double cliprange, double cliprangeValue, double vfCoef, double ratioThreshold) {

  public PpoLoss {
    if (!(cliprange > 0) || !(cliprangeValue > 0) || !(vfCoef >= 0) || !(ratioThreshold > 0)) {
      throw new IllegalArgumentException("PpoLoss needs cliprange > 0, cliprangeValue > 0, vfCoef >= 0, "
          + "ratioThreshold > 0; got " + cliprange + ", " + cliprangeValue + ", " + vfCoef + ", " + ratioThreshold);
    }
  }

  /** The loss settings of a validated config. */
  public static PpoLoss from(PpoConfig config) {
    return new PpoLoss(config.cliprange(), config.cliprangeValue(), config.vfCoef(), config.ratioThreshold());
  }

  /** Statistics and upstream gradients of one minibatch held by one worker. */
  public record Result(LossStats stats, LossGradients gradients) {}

  /** One worker, whole minibatch: {@code stats(sums(in))} and the gradients. */
  public Result compute(LossInputs in) {
    LossStats stats = stats(sums(in));
    return new Result(stats, gradients(in, stats));
  }

  /** The additive sums of this shard of the minibatch. */
  public LossSums sums(LossInputs in) {
    double tokens = 0;
    double pgSum = 0;
    double vfSum = 0;
    double pgClipped = 0;
    double vfClipped = 0;
    double ratioSum = 0;
    double sqLogRatioSum = 0;
    double negLogRatioSum = 0;
    double advSum = 0;
    double vpredSum = 0;
    double vErrSum = 0;
    double entropySum = in.entropy() == null ? Double.NaN : 0;
    double[][] mask = in.mask();
    for (int j = 0; j < in.rows(); j++) {
      for (int t = 0; t < in.cols(); t++) {
        if (mask[j][t] == 0.0) {
          continue;
        }
        double logRatio = in.logProbs()[j][t] - in.oldLogProbs()[j][t];
        double ratio = Math.exp(logRatio);
        double adv = in.advantages()[j][t];
        double pgUnclipped = -adv * ratio;
        double pgClippedTerm = -adv * clampRatio(ratio);
        double v = in.valuePreds()[j][t];
        double ret = in.returns()[j][t];
        double vfUnclipped = square(v - ret);
        double vfClippedTerm = square(clipValue(v, in.oldValues()[j][t]) - ret);
        tokens += 1;
        pgSum += Math.max(pgUnclipped, pgClippedTerm);
        vfSum += Math.max(vfUnclipped, vfClippedTerm);
        pgClipped += pgClippedTerm > pgUnclipped ? 1 : 0;
        vfClipped += vfClippedTerm > vfUnclipped ? 1 : 0;
        ratioSum += ratio;
        sqLogRatioSum += logRatio * logRatio;
        negLogRatioSum -= logRatio;
        advSum += adv;
        vpredSum += v;
        vErrSum += vfUnclipped;
        if (in.entropy() != null) {
          entropySum += in.entropy()[j][t];
        }
      }
    }
    return new LossSums(tokens, pgSum, vfSum, pgClipped, vfClipped, ratioSum, sqLogRatioSum, negLogRatioSum,
        advSum, vpredSum, vErrSum, entropySum, MaskedMoments.of(in.returns(), mask),
        MaskedMoments.of(in.oldValues(), mask));
  }

  /**
   * Loss and statistics from the sums of the whole minibatch.
   *
   * @throws IllegalStateException if the minibatch has no masked-in token
   */
  public LossStats stats(LossSums s) {
    double n = s.tokens();
    if (n == 0) {
      throw new IllegalStateException("the minibatch has no masked-in token: the PPO loss is undefined");
    }
    double ratioMean = s.ratioSum() / n;
    boolean skipped = exceedsRatioThreshold(ratioMean, ratioThreshold);
    double policyLoss = skipped ? 0.0 : s.policyLossSum() / n;
    double valueLoss = skipped ? 0.0 : 0.5 * s.valueLossSum() / n;
    double totalLoss = skipped ? 0.0 : policyLoss + vfCoef * valueLoss;
    return new LossStats(policyLoss, valueLoss, totalLoss, s.entropySum() / n, 0.5 * s.squaredLogRatioSum() / n,
        s.negLogRatioSum() / n, s.policyClipped() / n, s.advantageSum() / n, ratioMean, s.returns().mean(),
        varianceOrNaN(s.returns()), s.valuePredSum() / n, s.valueErrorSum() / n, s.valueClipped() / n,
        s.values().mean(), varianceOrNaN(s.values()), n, skipped);
  }

  /**
   * Upstream gradients of {@code loss/total} for this shard, normalised by the minibatch's
   * token count {@code stats.tokens()} (global when {@code stats} came from all-reduced sums).
   */
  public LossGradients gradients(LossInputs in, LossStats stats) {
    double[][] dLogProbs = new double[in.rows()][in.cols()];
    double[][] dValuePreds = new double[in.rows()][in.cols()];
    if (stats.skipped()) {
      return new LossGradients(dLogProbs, dValuePreds);
    }
    double perToken = 1.0 / stats.tokens();
    double[][] mask = in.mask();
    for (int j = 0; j < in.rows(); j++) {
      for (int t = 0; t < in.cols(); t++) {
        if (mask[j][t] == 0.0) {
          continue;
        }
        double ratio = Math.exp(in.logProbs()[j][t] - in.oldLogProbs()[j][t]);
        double adv = in.advantages()[j][t];
        double pgUnclipped = -adv * ratio;
        // dr/dlogp = r; the clipped term only wins where the clamp is saturated (derivative 0)
        dLogProbs[j][t] = -adv * clampRatio(ratio) > pgUnclipped ? 0.0 : perToken * pgUnclipped;
        double v = in.valuePreds()[j][t];
        double ret = in.returns()[j][t];
        double vfUnclipped = square(v - ret);
        // d/dv of 0.5 (v - R)^2 is (v - R); same saturation argument for the value clip
        dValuePreds[j][t] = square(clipValue(v, in.oldValues()[j][t]) - ret) > vfUnclipped
            ? 0.0 : perToken * vfCoef * (v - ret);
      }
    }
    return new LossGradients(dLogProbs, dValuePreds);
  }

  /** TRL's skip rule: {@code masked_mean(ratio) > ratio_threshold} (strict). */
  public static boolean exceedsRatioThreshold(double ratioMean, double ratioThreshold) {
    return ratioMean > ratioThreshold;
  }

  /**
   * TRL's epoch-level early stop ({@code early_stopping=True}): stop when the policy KL of the
   * last minibatch exceeds {@code 1.5 target_kl}.
   */
  public static boolean shouldStopEarly(double policyKl, double targetKl) {
    return policyKl > 1.5 * targetKl;
  }

  private double clampRatio(double ratio) {
    return Math.min(Math.max(ratio, 1.0 - cliprange), 1.0 + cliprange);
  }

  /** TRL {@code clip_by_value}: {@code max(min(v, old + c), old - c)}. */
  private double clipValue(double v, double oldValue) {
    return Math.max(Math.min(v, oldValue + cliprangeValue), oldValue - cliprangeValue);
  }

  private static double square(double x) {
    return x * x;
  }

  private static double varianceOrNaN(MaskedMoments m) {
    return m.count() > 1 ? m.trlMaskedVariance() : Double.NaN;
  }
}
