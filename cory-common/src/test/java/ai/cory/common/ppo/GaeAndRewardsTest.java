package ai.cory.common.ppo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Rewards and GAE on hand-computed numbers (the golden file covers gamma = 1, lam = 0.95). */
final class GaeAndRewardsTest {

  @Test
  void scoreGoesOnTheLastMaskedInColumn() {
    Rewards.PerToken r = Rewards.compute(new double[] {2.0}, new double[][] {{0.1, 0.2, 0.3, 0.4}},
        new double[][] {{0, 1, 1, 0}}, 0.5);
    assertArrayEquals(new double[] {-0.05, -0.1, -0.15, -0.2}, r.nonScoreReward()[0], 1e-15);
    assertArrayEquals(new double[] {-0.05, -0.1, 1.85, -0.2}, r.rewards()[0], 1e-15);
  }

  @Test
  void rewardsRejectEmptyResponsesAndMismatchedScores() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Rewards.compute(new double[] {1.0}, new double[][] {{0.1, 0.2}}, new double[][] {{0, 0}}, 0.1));
    assertTrue(e.getMessage().contains("row 0"), e.getMessage());
    assertThrows(IllegalArgumentException.class,
        () -> Rewards.compute(new double[] {1.0, 2.0}, new double[][] {{0.1, 0.2}}, new double[][] {{1, 1}}, 0.1));
  }

  /**
   * values [0.5, 1, 2], rewards [9, 0.5, 1], mask [0, 1, 1], gamma 0.9, lam 0.8:
   * masked V = [0, 1, 2], r = [0, 0.5, 1];
   * A2 = 1 - 2 = -1; A1 = 0.5 + 0.9*2 - 1 + 0.72*(-1) = 0.58; A0 = 0.9*1 + 0.72*0.58 = 1.3176.
   */
  @Test
  void gaeByHand() {
    Gae.Result g = Gae.compute(new double[][] {{0.5, 1.0, 2.0}}, new double[][] {{9.0, 0.5, 1.0}},
        new double[][] {{0, 1, 1}}, 0.9, 0.8);
    assertArrayEquals(new double[] {0.0, 1.0, 2.0}, g.maskedValues()[0], 0.0);
    assertArrayEquals(new double[] {1.3176, 0.58, -1.0}, g.advantages()[0], 1e-14);
    assertArrayEquals(new double[] {1.3176, 1.58, 1.0}, g.returns()[0], 1e-14);
  }

  /**
   * whiten_rewards: masked rewards [1, 3, 0] (mask [1, 1, 0]) have mean 2 and unbiased var 2, so
   * with s = 1/sqrt(2 + 1e-8) they become [2 - s, 2 + s, 2 - 2s] (the masked-out column is NOT
   * zeroed again: TRL's quirk). gamma = lam = 1 and V = 0: A_t = sum of the rewards from t on.
   */
  @Test
  void whitenedRewardsKeepTrlsUnmaskedColumns() {
    double[][] rewards = {{1.0, 3.0, 42.0}};
    double[][] mask = {{1, 1, 0}};
    Gae.Result g = Gae.computeWithWhitenedRewards(new double[][] {{0, 0, 0}}, rewards, mask, 1.0, 1.0,
        MaskedMoments.twoPass(rewards, mask));
    double s = 1.0 / Math.sqrt(2.0 + 1e-8);
    double r0 = 2 - s;
    double r1 = 2 + s;
    double r2 = 2 - 2 * s;
    assertArrayEquals(new double[] {r0 + r1 + r2, r1 + r2, r2}, g.advantages()[0], 1e-14);
  }
}
