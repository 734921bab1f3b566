package ai.cory.common.ppo;

/**
 * The (B, T) grids of one PPO minibatch (TRL {@code PPOTrainer.loss} arguments). Arrays are
 * held, not copied.
 *
 * @param oldLogProbs (B, T) log-probs of the sampled tokens at rollout time (constants)
 * @param oldValues   (B, T) {@code values * mask} at rollout time (constants; the value clip is
 *                    centred on them), {@link Gae.Result#maskedValues()}
 * @param logProbs    (B, T) log-probs from this minibatch's fresh forward pass (differentiated)
 * @param valuePreds  (B, T) value-head outputs from the fresh forward pass (differentiated)
 * @param mask        (B, T) 0/1 response mask
 * @param advantages  (B, T) whitened advantages (constants)
 * @param returns     (B, T) value targets {@code A + V} before whitening (constants)
 * @param entropy     (B, T) per-position entropy of the fresh distribution
 *                    ({@link FullVocab#entropy}), or null when not computed (statistic only;
 *                    the loss does not use it)
 */
public record LossInputs(
    double[][] oldLogProbs,
    double[][] oldValues,
    double[][] logProbs,
    double[][] valuePreds,
    double[][] mask,
    double[][] advantages,
    double[][] returns,
    double[][] entropy) {

  public LossInputs {
    Grids.requireGrid("logProbs", logProbs);
    Grids.requireSameShape("oldLogProbs", oldLogProbs, "logProbs", logProbs);
    Grids.requireSameShape("oldValues", oldValues, "logProbs", logProbs);
    Grids.requireSameShape("valuePreds", valuePreds, "logProbs", logProbs);
    Grids.requireSameShape("advantages", advantages, "logProbs", logProbs);
    Grids.requireSameShape("returns", returns, "logProbs", logProbs);
    Grids.requireMask(mask, "logProbs", logProbs);
    if (entropy != null) {
      Grids.requireSameShape("entropy", entropy, "logProbs", logProbs);
    }
  }

  /** Inputs without the entropy statistic. */
  public LossInputs(double[][] oldLogProbs, double[][] oldValues, double[][] logProbs, double[][] valuePreds,
      double[][] mask, double[][] advantages, double[][] returns) {
    this(oldLogProbs, oldValues, logProbs, valuePreds, mask, advantages, returns, null);
  }

  /** Rows B. */
  public int rows() {
    return logProbs.length;
  }

  /** Columns T. */
  public int cols() {
    return logProbs[0].length;
  }
}
