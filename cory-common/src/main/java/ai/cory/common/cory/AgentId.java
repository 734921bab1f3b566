package ai.cory.common.cory;

/**
 * Identity of a trainable agent. Identity and role are different things: agent A starts as the
 * pioneer and the two swap roles every T iterations (CORY.md section 1). The PPO baseline
 * trains A alone.
 */
public enum AgentId {
  A,
  B;

  /** The other agent. */
  public AgentId other() {
    return this == A ? B : A;
  }

  /** Name used in metric keys ({@code A/pioneer/...}). */
  public String key() {
    return this == A ? "A" : "B";
  }
}
