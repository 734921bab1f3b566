package ai.cory.common.reward;

import java.util.List;
import java.util.Objects;

/**
 * {@code R = sum_k w_k R_k}: several rewards combined with fixed weights (e.g. a task reward
 * plus a format bonus). Alias {@code weighted-sum} in {@link RewardFactory}.
 */
public final class WeightedSumReward implements RewardFunction {

  /** One term of the sum. */
  public record Term(RewardFunction reward, double weight) {
    public Term {
      Objects.requireNonNull(reward, "reward");
      if (!Double.isFinite(weight)) {
        throw new IllegalArgumentException("reward weight must be finite, got " + weight);
      }
    }
  }

  private final List<Term> terms;

  public WeightedSumReward(List<Term> terms) {
    if (terms.isEmpty()) {
      throw new IllegalArgumentException("weighted-sum reward needs at least one component");
    }
    this.terms = List.copyOf(terms);
  }

  public List<Term> terms() {
    return terms;
  }

  @Override
  public double[] score(List<RewardInput> items) {
    double[] total = new double[items.size()];
    for (int k = 0; k < terms.size(); k++) {
      Term term = terms.get(k);
      double[] part = term.reward().score(items);
      if (part.length != total.length) {
        throw new IllegalStateException("reward component " + k + " ("
            + term.reward().getClass().getName() + ") returned " + part.length + " scores for "
            + total.length + " items");
      }
      for (int i = 0; i < total.length; i++) {
        total[i] += term.weight() * part[i];
      }
    }
    return total;
  }
}
