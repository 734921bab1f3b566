package ai.cory.common.ppo;

import java.util.Arrays;

/**
 * Additive sums over the masked-in tokens of a minibatch from which {@link PpoLoss#stats}
 * derives the loss and every TRL loss statistic. Workers holding shards of one minibatch
 * all-reduce {@link #toArray()} (SUM) and get the statistics of the whole minibatch.
 *
 * @param tokens             number of masked-in tokens N (the masked-mean denominator)
 * @param policyLossSum      sum of {@code max(-A r, -A clip(r, 1 - eps, 1 + eps))}
 * @param valueLossSum       sum of {@code max((v - R)^2, (v_clipped - R)^2)} (no 0.5 yet)
 * @param policyClipped      count of tokens whose clipped policy term is strictly larger
 * @param valueClipped       count of tokens whose clipped value term is strictly larger
 * @param ratioSum           sum of {@code r = exp(logp - old_logp)}
 * @param squaredLogRatioSum sum of {@code (logp - old_logp)^2}
 * @param negLogRatioSum     sum of {@code old_logp - logp}
 * @param advantageSum       sum of the (whitened) advantages
 * @param valuePredSum       sum of the fresh value predictions
 * @param valueErrorSum      sum of {@code (v - R)^2}
 * @param entropySum         sum of the per-token entropies; NaN when they were not supplied
 * @param returns            moments of the returns about 0 (statistics only)
 * @param values             moments of the old values about 0 (statistics only)
 */
public record LossSums(
    double tokens,
    double policyLossSum,
    double valueLossSum,
    double policyClipped,
    double valueClipped,
    double ratioSum,
    double squaredLogRatioSum,
    double negLogRatioSum,
    double advantageSum,
    double valuePredSum,
    double valueErrorSum,
    double entropySum,
    MaskedMoments returns,
    MaskedMoments values) {

  private static final int SCALARS = 12;

  /** Number of doubles in {@link #toArray()}. */
  public static final int ARRAY_LENGTH = SCALARS + 2 * MaskedMoments.ARRAY_LENGTH;

  /** Sums of two shards. */
  public LossSums plus(LossSums o) {
    return new LossSums(tokens + o.tokens, policyLossSum + o.policyLossSum, valueLossSum + o.valueLossSum,
        policyClipped + o.policyClipped, valueClipped + o.valueClipped, ratioSum + o.ratioSum,
        squaredLogRatioSum + o.squaredLogRatioSum, negLogRatioSum + o.negLogRatioSum,
        advantageSum + o.advantageSum, valuePredSum + o.valuePredSum, valueErrorSum + o.valueErrorSum,
        entropySum + o.entropySum, returns.plus(o.returns), values.plus(o.values));
  }

  /** The doubles to all-reduce with SUM, in a fixed order. */
  public double[] toArray() {
    double[] out = new double[ARRAY_LENGTH];
    double[] scalars = {tokens, policyLossSum, valueLossSum, policyClipped, valueClipped, ratioSum,
        squaredLogRatioSum, negLogRatioSum, advantageSum, valuePredSum, valueErrorSum, entropySum};
    System.arraycopy(scalars, 0, out, 0, SCALARS);
    System.arraycopy(returns.toArray(), 0, out, SCALARS, MaskedMoments.ARRAY_LENGTH);
    System.arraycopy(values.toArray(), 0, out, SCALARS + MaskedMoments.ARRAY_LENGTH, MaskedMoments.ARRAY_LENGTH);
    return out;
  }

  /** Inverse of {@link #toArray()}. */
  public static LossSums fromArray(double[] a) {
    if (a.length != ARRAY_LENGTH) {
      throw new IllegalArgumentException("LossSums array must have " + ARRAY_LENGTH + " entries, got " + a.length);
    }
    int m = MaskedMoments.ARRAY_LENGTH;
    return new LossSums(a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11],
        MaskedMoments.fromArray(0.0, Arrays.copyOfRange(a, SCALARS, SCALARS + m)),
        MaskedMoments.fromArray(0.0, Arrays.copyOfRange(a, SCALARS + m, SCALARS + 2 * m)));
  }
}
