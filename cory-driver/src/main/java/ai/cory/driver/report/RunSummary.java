package ai.cory.driver.report;

import ai.cory.common.cory.AgentId;
import ai.cory.common.metrics.MetricNames;
import java.util.List;

/**
 * A run's end state in a few numbers. "Final" is the mean over the last {@link #TAIL} iterations
 * logged (a batch of 32 responses makes one iteration's mean noisy); each number is the mean over
 * the run's agents (CORY's two, PPO's one) of that agent's value.
 *
 * @param iterations    iterations logged
 * @param reward        final task reward (env/reward_mean)
 * @param kl            final KL to the reference (objective/kl)
 * @param combined      final combined reward (objective/combined = r - beta KL)
 * @param approxKl      final size of the policy update (ppo/policy/approxkl)
 * @param clipFrac      final fraction of clipped ratios (ppo/policy/clipfrac)
 * @param peakIteration the iteration whose agent-mean task reward is highest
 * @param peakReward    that reward
 */
public record RunSummary(int iterations, double reward, double kl, double combined, double approxKl,
    double clipFrac, long peakIteration, double peakReward) {
  /** Iterations averaged into a final value. */
  public static final int TAIL = 5;

  /** The summary of {@code run}; NaN values where it logged nothing. */
  public static RunSummary of(RunData run) {
    List<AgentId> agents = run.agents();
    long peakAt = -1;
    double peak = Double.NEGATIVE_INFINITY;
    for (int i = 0; i < run.size(); i++) {
      double r = agentMean(run, agents, i, MetricNames.REWARD_MEAN);
      if (r > peak) {
        peak = r;
        peakAt = run.iteration(i);
      }
    }
    return new RunSummary(run.size(), tail(run, agents, MetricNames.REWARD_MEAN), tail(run, agents, MetricNames.KL),
        tail(run, agents, MetricNames.COMBINED), tail(run, agents, MetricNames.POLICY_APPROXKL),
        tail(run, agents, MetricNames.POLICY_CLIPFRAC), peakAt, peakAt < 0 ? Double.NaN : peak);
  }

  /** The mean over agents of metric {@code name} at row {@code i}. */
  static double agentMean(RunData run, List<AgentId> agents, int i, String name) {
    double sum = 0;
    for (AgentId a : agents) {
      sum += run.ofAgent(i, a, name);
    }
    return agents.isEmpty() ? Double.NaN : sum / agents.size();
  }

  /** The mean of the agent-mean of {@code name} over the last {@link #TAIL} rows. */
  static double tail(RunData run, List<AgentId> agents, String name) {
    int from = Math.max(0, run.size() - TAIL);
    double sum = 0;
    for (int i = from; i < run.size(); i++) {
      sum += agentMean(run, agents, i, name);
    }
    return run.size() == 0 ? Double.NaN : sum / (run.size() - from);
  }

  /** The final value of one agent's metric (mean over the last {@link #TAIL} rows). */
  public static double finalOf(RunData run, AgentId agent, String name) {
    return tail(run, List.of(agent), name);
  }
}
