package ai.cory.common.cory;

/**
 * Who is the pioneer at each iteration (CORY.md section 2, step 8): agent A starts as the
 * pioneer and the agents exchange roles after iteration k whenever {@code (k + 1) % T == 0},
 * so A is the pioneer for iterations {@code [0, T)}, B for {@code [T, 2T)}, and so on. A period
 * of 0 means T = infinity (the "no role exchange" ablation): A is always the pioneer.
 *
 * @param period T, {@code >= 0}
 */
public record RoleSchedule(int period) {

  public RoleSchedule {
    if (period < 0) {
      throw new IllegalArgumentException("role-exchange period must be >= 0 (0 = never), got " + period);
    }
  }

  /** True when the roles are exchanged at the end of iteration {@code k} (0-based). */
  public boolean exchangesAfter(long k) {
    requireIteration(k);
    return period > 0 && (k + 1) % period == 0;
  }

  /** The pioneer of iteration {@code k}: A, then B after each exchange, alternating. */
  public AgentId pioneerAt(long k) {
    requireIteration(k);
    if (period == 0) {
      return AgentId.A;
    }
    return (k / period) % 2 == 0 ? AgentId.A : AgentId.B;
  }

  /** The role of {@code agent} at iteration {@code k}. */
  public Role roleOf(AgentId agent, long k) {
    return pioneerAt(k) == agent ? Role.PIONEER : Role.OBSERVER;
  }

  /** Number of exchanges that happened before iteration {@code k} starts. */
  public long exchangesBefore(long k) {
    requireIteration(k);
    return period == 0 ? 0 : k / period;
  }

  private static void requireIteration(long k) {
    if (k < 0) {
      throw new IllegalArgumentException("iteration must be >= 0, got " + k);
    }
  }
}
