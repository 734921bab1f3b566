package ai.cory.common.reward;

/** Test-only: a public class that is not a reward. */
public final class NotARewardClass {
  public NotARewardClass() {}
}
