package ai.cory.common.reward;

import java.util.List;

/** Test-only: a reward without a config constructor. */
public final class NoConfigConstructorReward implements RewardFunction {
  public NoConfigConstructorReward(String unrelated) {}

  @Override
  public double[] score(List<RewardInput> items) {
    return new double[items.size()];
  }
}
