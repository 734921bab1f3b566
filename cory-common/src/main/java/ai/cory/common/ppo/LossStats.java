package ai.cory.common.ppo;

import ai.cory.common.metrics.MetricNames;
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
    m.put(MetricNames.LOSS_POLICY, policyLoss);
    m.put(MetricNames.LOSS_VALUE, valueLoss);
    m.put(MetricNames.LOSS_TOTAL, totalLoss);
    m.put(MetricNames.POLICY_ENTROPY, entropy);
    m.put(MetricNames.POLICY_APPROXKL, approxKl);
    m.put(MetricNames.POLICY_POLICYKL, policyKl);
    m.put(MetricNames.POLICY_CLIPFRAC, policyClipFrac);
    m.put(MetricNames.POLICY_ADVANTAGES_MEAN, advantagesMean);
    m.put(MetricNames.POLICY_RATIO_MEAN, ratioMean);
    m.put(MetricNames.RETURNS_MEAN, returnsMean);
    m.put(MetricNames.RETURNS_VAR, returnsVar);
    m.put(MetricNames.VAL_VPRED, valuePredMean);
    m.put(MetricNames.VAL_ERROR, valueError);
    m.put(MetricNames.VAL_CLIPFRAC, valueClipFrac);
    m.put(MetricNames.VAL_MEAN, valuesMean);
    m.put(MetricNames.VAL_VAR, valuesVar);
    m.put(MetricNames.VAL_VAR_EXPLAINED, varianceExplained());
    return m;
  }
}
