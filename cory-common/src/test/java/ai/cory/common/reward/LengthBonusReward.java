package ai.cory.common.reward;

import com.typesafe.config.Config;
import java.util.List;

/** Test-only user reward loaded by class name: {@code perChar * response length}. */
public final class LengthBonusReward implements RewardFunction {
  private final double perChar;

  public LengthBonusReward(Config config) {
    this.perChar = config.getDouble("per-char");
  }

  @Override
  public double[] score(List<RewardInput> items) {
    double[] s = new double[items.size()];
    for (int i = 0; i < s.length; i++) {
      s[i] = perChar * items.get(i).response().length();
    }
    return s;
  }
}
