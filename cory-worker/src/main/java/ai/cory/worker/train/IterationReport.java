package ai.cory.worker.train;

import ai.cory.common.cory.AgentId;
import java.io.Serializable;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * What one iteration reports to the driver: a few KB of metrics, no tensors.
 *
 * <p>Metric names (CORY.md section 8): per agent and role {@code <agent>/<role>/<name>}, e.g.
 * {@code A/pioneer/env/reward_mean} or {@code B/observer/objective/kl}, with {@code <name>} a TRL
 * metric name; every name is in {@code ai.cory.common.metrics.MetricNames}. An agent's curve over
 * a run is {@code <agent>/*}{@code /<name>} (its role changes at each exchange), a role's curve
 * {@code *}{@code /<role>/<name>}.
 *
 * @param iteration        k
 * @param pioneer          the agent that was the pioneer
 * @param generationLength L
 * @param exchanged        roles were exchanged after this iteration
 * @param metrics          name -> value, in a stable order
 * @param samples          a few decoded texts for the progress log (role -> text)
 */
public record IterationReport(long iteration, AgentId pioneer, int generationLength, boolean exchanged,
    Map<String, Double> metrics, Map<String, String> samples) implements Serializable {
  private static final long serialVersionUID = 1L;

  public IterationReport {
    Objects.requireNonNull(pioneer, "pioneer");
    metrics = Collections.unmodifiableMap(new LinkedHashMap<>(metrics));
    samples = Collections.unmodifiableMap(new LinkedHashMap<>(samples));
  }

  /** This report with one more (or a replaced) metric. */
  public IterationReport withMetric(String name, double value) {
    Map<String, Double> more = new LinkedHashMap<>(metrics);
    more.put(name, value);
    return new IterationReport(iteration, pioneer, generationLength, exchanged, more, samples);
  }

  /** One metric; fails with the known names when absent. */
  public double metric(String name) {
    Double v = metrics.get(name);
    if (v == null) {
      throw new IllegalArgumentException("no metric '" + name + "' in iteration " + iteration + "; have "
          + metrics.keySet());
    }
    return v;
  }
}
