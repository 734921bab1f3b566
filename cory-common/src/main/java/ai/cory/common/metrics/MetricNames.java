package ai.cory.common.metrics;

import java.util.List;

/**
 * Every metric name a run writes to {@code metrics.jsonl}, in TRL 0.7.9's spelling where TRL has
 * the statistic ({@code PPOTrainer.record_step_stats} and {@code loss}), the only place these
 * strings are written. Per-agent names are prefixed {@code <agent>/<role>/} ({@link #ofAgent});
 * iteration-wide ones are not. {@code docs/training.md} lists each of them (a test checks).
 */
public final class MetricNames {
  // ---- TRL's step statistics, per agent ----
  /** Mean over sequences of the summed per-token KL to the reference. */
  public static final String KL = "objective/kl";
  /** The KL coefficient beta used in this step. */
  public static final String KL_COEF = "objective/kl_coef";
  /** Mean over sequences of the summed per-token negative log-probability. */
  public static final String ENTROPY = "objective/entropy";
  /** Mean over sequences of the summed per-token KL penalty. */
  public static final String MEAN_NON_SCORE_REWARD = "ppo/mean_non_score_reward";
  /** Mean of the scores the step trained on (after scaling and clipping). */
  public static final String MEAN_SCORES = "ppo/mean_scores";
  /** Standard deviation of those scores (unbiased). */
  public static final String STD_SCORES = "ppo/std_scores";
  /** Mean over sequences of the summed per-token rewards (KL penalty and score; the CORY fork's). */
  public static final String AVERAGE_REWARD = "ppo/average_reward";
  /** Mean response length in tokens. */
  public static final String RESPONSES_LEN_MEAN = "tokens/responses_len_mean";
  public static final String LOSS_POLICY = "ppo/loss/policy";
  public static final String LOSS_VALUE = "ppo/loss/value";
  public static final String LOSS_TOTAL = "ppo/loss/total";
  public static final String POLICY_ENTROPY = "ppo/policy/entropy";
  public static final String POLICY_APPROXKL = "ppo/policy/approxkl";
  public static final String POLICY_POLICYKL = "ppo/policy/policykl";
  public static final String POLICY_CLIPFRAC = "ppo/policy/clipfrac";
  public static final String POLICY_ADVANTAGES_MEAN = "ppo/policy/advantages_mean";
  public static final String POLICY_RATIO_MEAN = "ppo/policy/ratio_mean";
  public static final String RETURNS_MEAN = "ppo/returns/mean";
  public static final String RETURNS_VAR = "ppo/returns/var";
  public static final String VAL_VPRED = "ppo/val/vpred";
  public static final String VAL_ERROR = "ppo/val/error";
  public static final String VAL_CLIPFRAC = "ppo/val/clipfrac";
  public static final String VAL_MEAN = "ppo/val/mean";
  public static final String VAL_VAR = "ppo/val/var";
  public static final String VAL_VAR_EXPLAINED = "ppo/val/var_explained";

  // ---- ours, per agent ----
  /** Global gradient norm before clipping, mean over the step's optimizer steps. */
  public static final String GRAD_NORM = "ppo/grad_norm";
  /** Minibatches skipped for a non-finite loss or gradient. */
  public static final String SKIPPED_MINIBATCHES = "ppo/skipped_minibatches";
  /** The agent's own task reward, batch mean (CORY.md section 8). */
  public static final String REWARD_MEAN = "env/reward_mean";
  /** {@code reward_mean - kl_coef * kl}: the task-reward / KL trade-off. */
  public static final String COMBINED = "objective/combined";

  // ---- iteration-wide ----
  /** The collective reward R_c = r1 + r2 (PPO: r1), batch mean; also per agent. */
  public static final String REWARD_COLLECTIVE = "env/reward_collective";
  /** Prefix of every wall-time split entry, in seconds. */
  public static final String TIME_PREFIX = "time/";
  public static final String TIME_ROLLOUT = "time/rollout";
  public static final String TIME_REWARD = "time/reward";
  public static final String TIME_TRAIN = "time/train";
  /** Time inside collectives (0 with one worker). */
  public static final String TIME_SYNC = "time/sync";
  public static final String TIME_ITERATION = "time/iteration";
  /** Driver's view: slowest replica check-out and ring rendezvous. */
  public static final String TIME_SETUP = "time/setup";
  /** Rank 0's checkpoint write inside the stage. */
  public static final String TIME_CHECKPOINT = "time/checkpoint";
  /** The whole barrier stage as the driver sees it. */
  public static final String TIME_STAGE = "time/stage";
  /** The held-out evaluation on the slowest worker (0 in iterations without one). */
  public static final String TIME_EVAL = "time/eval";
  /** In-job recoveries from executor loss so far in this application. */
  public static final String RECOVERIES = "run/recoveries";

  /** Every name above, for documentation checks. */
  public static final List<String> ALL = List.of(KL, KL_COEF, ENTROPY, MEAN_NON_SCORE_REWARD, MEAN_SCORES,
      STD_SCORES, AVERAGE_REWARD, RESPONSES_LEN_MEAN, LOSS_POLICY, LOSS_VALUE, LOSS_TOTAL, POLICY_ENTROPY, POLICY_APPROXKL,
      POLICY_POLICYKL, POLICY_CLIPFRAC, POLICY_ADVANTAGES_MEAN, POLICY_RATIO_MEAN, RETURNS_MEAN, RETURNS_VAR,
      VAL_VPRED, VAL_ERROR, VAL_CLIPFRAC, VAL_MEAN, VAL_VAR, VAL_VAR_EXPLAINED, GRAD_NORM, SKIPPED_MINIBATCHES,
      REWARD_MEAN, COMBINED, REWARD_COLLECTIVE, TIME_ROLLOUT, TIME_REWARD, TIME_TRAIN, TIME_SYNC, TIME_ITERATION,
      TIME_SETUP, TIME_CHECKPOINT, TIME_STAGE, TIME_EVAL, RECOVERIES);

  // ---- held-out evaluation (cory.eval), per agent ----
  /**
   * Prefix of the held-out measures, {@code eval/<agent>/<measure>} ({@link #ofEval}); the
   * measures are {@code bin/cory eval}'s: reward_mean, reward_std, kl, pass@1, entropy_per_token,
   * distinct-1, distinct-2, self-bleu, response_len_mean, prompts, samples_per_prompt.
   */
  public static final String EVAL_PREFIX = "eval/";

  private MetricNames() {}

  /** {@code eval/<agent>/<measure>}, e.g. {@code eval/A/reward_mean}. */
  public static String ofEval(String agent, String measure) {
    return EVAL_PREFIX + agent + "/" + measure;
  }

  /**
   * {@code <agent>/<role>/<name>}, e.g. {@code A/pioneer/objective/kl}.
   *
   * @param agent an agent's key ({@code AgentId.key()})
   * @param role  a role's key ({@code Role.key()})
   */
  public static String ofAgent(String agent, String role, String name) {
    return agent + "/" + role + "/" + name;
  }
}
