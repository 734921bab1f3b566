package ai.cory.common.ppo;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The loss and statistics of one PPO minibatch, as TRL 0.7.9 {@code PPOTrainer.loss} reports
 * them (masked means over the minibatch's response tokens).
 *
 * @param policyLoss     {@code loss/policy}: masked mean of {@code max(-A r, -A clip(r))}; 0 if skipped
 * @param valueLoss      {@code loss/value}: {@code 0.5} masked mean of the max of the squared
 *                       errors, BEFORE {@code vf_coef}; 0 if skipped
 * @param totalLoss      {@code loss/total}: {@code policyLoss + vf_coef valueLoss}; 0 if skipped
 * @param entropy        {@code policy/entropy}: masked mean entropy, NaN if not supplied
 * @param approxKl       {@code policy/approxkl}: {@code 0.5} masked mean of {@code (logp - old)^2}
 * @param policyKl       {@code policy/policykl}: masked mean of {@code old - logp}
 * @param policyClipFrac {@code policy/clipfrac}: fraction of tokens where the clipped term wins
 * @param advantagesMean {@code policy/advantages_mean}
 * @param ratioMean      {@code policy/ratio_mean}: the input of the ratio-threshold rule
 * @param returnsMean    {@code returns/mean}
 * @param returnsVar     {@code returns/var} (unbiased)
 * @param valuePredMean  {@code val/vpred}
 * @param valueError     {@code val/error}: masked mean of {@code (v - R)^2}
 * @param valueClipFrac  {@code val/clipfrac}
 * @param valuesMean     {@code val/mean} (old values)
 * @param valuesVar      {@code val/var} (unbiased)
 * @param tokens         masked-in tokens N, the denominator of the gradients
 * @param skipped        the mean ratio exceeded {@code ratio_threshold}: TRL multiplies the
 *                       losses by 0, so this minibatch contributes no gradient
 */
public record LossStats(
    double policyLoss,
    double valueLoss,
    double totalLoss,
    double entropy,
    double approxKl,
    double policyKl,
    double policyClipFrac,
    double advantagesMean,
    double ratioMean,
    double returnsMean,
    double returnsVar,
    double valuePredMean,
    double valueError,
    double valueClipFrac,
    double valuesMean,
    double valuesVar,
    double tokens,
    boolean skipped) {

  /** {@code ppo/val/var_explained} as TRL's {@code record_step_stats}: 1 - error / returns var. */
  public double varianceExplained() {
    return 1 - valueError / returnsVar;
  }

  /** The statistics under their TRL metric names ({@code ppo/loss/total}, ...), in TRL's order. */
  public Map<String, Double> metrics() {
    Map<String, Double> m = new LinkedHashMap<>();
    m.put("ppo/loss/policy", policyLoss);
    m.put("ppo/loss/value", valueLoss);
    m.put("ppo/loss/total", totalLoss);
    m.put("ppo/policy/entropy", entropy);
    m.put("ppo/policy/approxkl", approxKl);
    m.put("ppo/policy/policykl", policyKl);
    m.put("ppo/policy/clipfrac", policyClipFrac);
    m.put("ppo/policy/advantages_mean", advantagesMean);
    m.put("ppo/policy/ratio_mean", ratioMean);
    m.put("ppo/returns/mean", returnsMean);
    m.put("ppo/returns/var", returnsVar);
    m.put("ppo/val/vpred", valuePredMean);
    m.put("ppo/val/error", valueError);
    m.put("ppo/val/clipfrac", valueClipFrac);
    m.put("ppo/val/mean", valuesMean);
    m.put("ppo/val/var", valuesVar);
    m.put("ppo/val/var_explained", varianceExplained());
    return m;
  }
}
