package ai.cory.worker.train;

import ai.cory.common.cory.AgentId;
import ai.cory.common.model.CausalLm;
import ai.cory.common.ppo.AdaptiveKlController;
import ai.cory.common.ppo.FixedKlController;
import ai.cory.common.ppo.KlController;
import ai.cory.common.ppo.RunningMoments;
import java.util.Objects;

/**
 * One trainable agent of CORY.md section 1: its own weights with value head (one flat buffer),
 * its own Adam state, KL controller and running score statistics. Role-free: the training loop
 * keeps agents in role slots ({@link ai.cory.common.cory.AgentSlots}) and swaps the slots, never
 * the contents. Not thread-safe.
 */
public final class Agent {
  private final AgentId id;
  private final CausalLm policy;
  private final AdamOptimizer optimizer;
  private final KlController initialKl;
  private KlController kl;
  private RunningMoments scoreMoments = RunningMoments.initial();

  /**
   * @param id        A or B
   * @param policy    the agent's model (weights and value head); its gradient buffer is used
   * @param optimizer Adam over {@code policy.params()}
   * @param kl        the KL controller at its initial coefficient
   */
  public Agent(AgentId id, CausalLm policy, AdamOptimizer optimizer, KlController kl) {
    this.id = Objects.requireNonNull(id, "id");
    this.policy = Objects.requireNonNull(policy, "policy");
    this.optimizer = Objects.requireNonNull(optimizer, "optimizer");
    this.initialKl = Objects.requireNonNull(kl, "kl");
    this.kl = kl;
    if (policy.params().layout().size() <= 0) {
      throw new IllegalArgumentException("agent " + id + " has no parameters");
    }
  }

  public AgentId id() {
    return id;
  }

  /** The agent's model: weights, value head and gradient buffer. */
  public CausalLm policy() {
    return policy;
  }

  public AdamOptimizer optimizer() {
    return optimizer;
  }

  /** The current KL controller (coefficient beta). */
  public KlController kl() {
    return kl;
  }

  void setKl(KlController next) {
    kl = Objects.requireNonNull(next, "kl");
  }

  /** Running moments of the raw scores seen (score scaling). */
  public RunningMoments scoreMoments() {
    return scoreMoments;
  }

  void setScoreMoments(RunningMoments next) {
    scoreMoments = Objects.requireNonNull(next, "scoreMoments");
  }

  /**
   * Forgets the optimizer moments, the KL coefficient and the score statistics (what the
   * authors' save-and-reload role exchange does as a side effect); the weights are untouched.
   */
  public void resetTrainingState() {
    optimizer.reset();
    kl = initialKl;
    scoreMoments = RunningMoments.initial();
  }

  /**
   * Resumes the agent's scalar training state from a checkpoint (its weights and Adam moments
   * are read into their buffers by the caller).
   *
   * @param optimizerSteps Adam steps taken
   * @param klCoef         the KL coefficient beta reached
   * @param moments        the running score moments
   */
  public void restore(int optimizerSteps, double klCoef, RunningMoments moments) {
    optimizer.restoreSteps(optimizerSteps);
    kl = initialKl instanceof AdaptiveKlController a ? new AdaptiveKlController(klCoef, a.target(), a.horizon())
        : new FixedKlController(klCoef);
    scoreMoments = Objects.requireNonNull(moments, "moments");
  }

  @Override
  public String toString() {
    return "Agent " + id;
  }
}
