package ai.cory.common.config;

import java.io.Serializable;
import java.util.Objects;

/**
 * {@code cory.algorithm}: CORY, its two ablations, or the single-agent PPO baseline, all on
 * one code path (CORY.md section 2).
 *
 * @param mode               two cooperating agents or one PPO agent
 * @param knowledgeTransfer  the observer is prompted with {@code template(q, a1)}; false = the
 *                           "no knowledge transfer" ablation (observer sees {@code q} only)
 * @param roleExchangePeriod T; 0 = never exchange (the "no role exchange" ablation)
 * @param resetOnExchange    reset Adam moments, KL coefficient and score statistics of both
 *                           agents on an exchange (what the authors' save/reload swap does)
 */
public record AlgorithmSettings(Mode mode, boolean knowledgeTransfer, int roleExchangePeriod, boolean resetOnExchange)
    implements Serializable {
  private static final long serialVersionUID = 1L;

  /** Two cooperating agents or one. */
  public enum Mode {
    /** Pioneer and observer, collective reward. */
    CORY,
    /** One agent trained on its own task reward r1 (the paper's PPO baseline). */
    PPO
  }

  public AlgorithmSettings {
    Objects.requireNonNull(mode, "mode");
    if (roleExchangePeriod < 0) {
      throw new IllegalArgumentException("roleExchangePeriod must be >= 0 (0 = never), got " + roleExchangePeriod);
    }
  }

  /** CORY as in the paper: knowledge transfer on, T = 5, reset on exchange. */
  public static AlgorithmSettings cory() {
    return new AlgorithmSettings(Mode.CORY, true, 5, true);
  }

  /** The single-agent PPO baseline. */
  public static AlgorithmSettings ppo() {
    return new AlgorithmSettings(Mode.PPO, false, 0, true);
  }

  /** True when two agents train together. */
  public boolean twoAgents() {
    return mode == Mode.CORY;
  }
}
