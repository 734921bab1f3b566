package ai.cory.common.reward;

/** Test-only: a class that is not a reward and whose static initialiser must never run. */
public final class NotARewardWithStaticCode {
  static {
    RewardFactoryTest.STATIC_CODE_RAN.set(true);
  }

  public NotARewardWithStaticCode() {}
}
