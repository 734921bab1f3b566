package ai.cory.worker.train;

import java.util.Collections;
import java.util.Map;

/**
 * Outcome of one PPO step of one agent: TRL-named statistics of the whole batch (identical on
 * every worker) and what the step did.
 *
 * @param metrics         {@code objective/*}, {@code ppo/*}, {@code tokens/*}: rollout statistics of
 *                        the whole batch and the loss statistics averaged over every minibatch
 *                        of every epoch (TRL {@code record_step_stats})
 * @param optimizerSteps  Adam steps taken
 * @param skippedMinibatches minibatches whose mean ratio exceeded {@code ratio-threshold}
 * @param earlyStopped    the epochs stopped early on the policy KL
 * @param klCoefAfter     beta after the KL-controller update
 */
public record PpoStepReport(Map<String, Double> metrics, int optimizerSteps, int skippedMinibatches,
    boolean earlyStopped, double klCoefAfter) {

  public PpoStepReport {
    metrics = Collections.unmodifiableMap(metrics);
  }

  /** One metric; fails with the known names when absent. */
  public double metric(String name) {
    Double v = metrics.get(name);
    if (v == null) {
      throw new IllegalArgumentException("no metric '" + name + "'; have " + metrics.keySet());
    }
    return v;
  }
}
