package ai.cory.common.cory;

/**
 * The cooperative reward of CORY.md section 2, step 6: both agents are trained on
 * {@code R_c = r1 + r2}, the sum of the pioneer's and the observer's task rewards for the same
 * query.
 */
public final class CollectiveReward {
  private CollectiveReward() {}

  /**
   * @param pioneerRewards  (B) {@code r1 = R(q, a1)}
   * @param observerRewards (B) {@code r2 = R(q, a2)}, same query order
   * @return (B) {@code r1 + r2}
   */
  public static double[] sum(double[] pioneerRewards, double[] observerRewards) {
    if (pioneerRewards.length != observerRewards.length) {
      throw new IllegalArgumentException("pioneer has " + pioneerRewards.length + " rewards but observer has "
          + observerRewards.length + " (one per query each)");
    }
    double[] out = new double[pioneerRewards.length];
    for (int i = 0; i < out.length; i++) {
      out[i] = pioneerRewards[i] + observerRewards[i];
    }
    return out;
  }
}
