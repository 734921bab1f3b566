package ai.cory.common.ppo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Arrays;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The PPO step's math, chained from the golden rollout outputs (log-probs, ref log-probs,
 * values; for "full" the per-column KL, since the file holds no full-vocabulary rows) through
 * rewards, GAE, whitening, the minibatch loss statistics, the step statistics and the adaptive
 * KL update, against {@code golden/ppo_step_gpt2_tiny.json} in all four scenarios. Then the same
 * batch split over two simulated workers must give the same numbers.
 */
final class PpoStepGoldenTest {
  private static final PpoGolden ERRORS = new PpoGolden();

  static String[] scenarios() {
    return PpoGolden.SCENARIOS;
  }

  /** Everything computed for one scenario, from the golden inputs. */
  private record Step(PpoConfig config, double[] scores, double[][] mask, double[][] logProbs, double[][] valuesRaw,
      double[][] kl, Rewards.PerToken rewards, Gae.Result gae, double[][] advantages) {}

  private static PpoConfig configOf(JsonNode c) {
    assertFalse(c.get("whiten_rewards").asBoolean());
    assertFalse(c.get("use_score_scaling").asBoolean());
    return PpoGolden.config(c);
  }

  private static Step run(JsonNode root, JsonNode sc) {
    PpoConfig config = configOf(root.get("ppo_config")).toBuilder()
        .klPenalty(KlPenalty.fromTrlName(sc.get("kl_penalty").asText())).build();
    JsonNode g = sc.get("per_token_full_grid");
    double[] scores = PpoGolden.vector(root.get("scores"));
    double[][] mask = PpoGolden.grid(g.get("mask"));
    double[][] logProbs = PpoGolden.grid(g.get("logprobs"));
    double[][] kl = config.klPenalty() == KlPenalty.FULL
        ? PpoGolden.grid(g.get("kl")) // full-vocab rows are not in the file
        : config.klPenalty().perToken(logProbs, PpoGolden.grid(g.get("ref_logprobs")));
    KlController ctl = KlController.from(config);
    Rewards.PerToken rewards = Rewards.compute(scores, kl, mask, ctl.coef());
    double[][] valuesRaw = PpoGolden.grid(g.get("values_raw"));
    Gae.Result gae = Gae.compute(valuesRaw, rewards.rewards(), mask, config.gamma(), config.lam());
    double[][] advantages = MaskedStats.whiten(gae.advantages(), mask, true);
    return new Step(config, scores, mask, logProbs, valuesRaw, kl, rewards, gae, advantages);
  }

  /** The minibatch of the golden step: the fresh forward equals the rollout one (ratio 1). */
  private static LossInputs lossInputs(Step s) {
    return new LossInputs(s.logProbs, s.gae.maskedValues(), s.logProbs, s.valuesRaw, s.mask, s.advantages,
        s.gae.returns());
  }

  @ParameterizedTest
  @MethodSource("scenarios")
  void perTokenGridsMatchGolden(String name) {
    JsonNode root = PpoGolden.root();
    JsonNode sc = root.get("scenarios").get(name);
    JsonNode g = sc.get("per_token_full_grid");
    Step s = run(root, sc);
    if (s.config.klPenalty() == KlPenalty.FULL && name.startsWith("ref_identical")) {
      // identical reference: the exact KL of a distribution with itself is exactly 0 everywhere
      for (double[] row : s.kl) {
        for (double v : row) {
          assertEquals(0.0, v, 0.0);
        }
      }
    }
    ERRORS.check("kl", PpoGolden.grid(g.get("kl")), s.kl);
    ERRORS.check("non_score_reward", PpoGolden.grid(g.get("non_score_reward")), s.rewards.nonScoreReward());
    ERRORS.check("rewards", PpoGolden.grid(g.get("rewards")), s.rewards.rewards());
    ERRORS.check("values (masked)", PpoGolden.grid(g.get("values")), s.gae.maskedValues());
    ERRORS.check("advantages_before_whitening", PpoGolden.grid(g.get("advantages_before_whitening")),
        s.gae.advantages());
    ERRORS.check("returns", PpoGolden.grid(g.get("returns")), s.gae.returns());
    ERRORS.check("advantages (whitened)", PpoGolden.grid(g.get("advantages")), s.advantages);
  }

  @ParameterizedTest
  @MethodSource("scenarios")
  void minibatchLossStatsMatchGolden(String name) {
    JsonNode root = PpoGolden.root();
    JsonNode sc = root.get("scenarios").get(name);
    Step s = run(root, sc);
    LossStats st = PpoLoss.from(s.config).compute(lossInputs(s)).stats();
    JsonNode gold = sc.get("minibatch_loss");
    assertFalse(st.skipped());
    ERRORS.check("loss/policy", gold.get("loss/policy").asDouble(), st.policyLoss());
    ERRORS.check("loss/value", gold.get("loss/value").asDouble(), st.valueLoss());
    ERRORS.check("loss/total", gold.get("loss/total").asDouble(), st.totalLoss());
    ERRORS.check("policy/approxkl", gold.get("policy/approxkl").asDouble(), st.approxKl());
    ERRORS.check("policy/policykl", gold.get("policy/policykl").asDouble(), st.policyKl());
    ERRORS.check("policy/clipfrac", gold.get("policy/clipfrac").asDouble(), st.policyClipFrac());
    ERRORS.check("policy/advantages_mean", gold.get("policy/advantages_mean").asDouble(), st.advantagesMean());
    ERRORS.check("policy/ratio_mean", gold.get("policy/ratio_mean").asDouble(), st.ratioMean());
    ERRORS.check("returns/mean", gold.get("returns/mean").asDouble(), st.returnsMean());
    ERRORS.check("returns/var", gold.get("returns/var").asDouble(), st.returnsVar());
    ERRORS.check("val/vpred", gold.get("val/vpred").asDouble(), st.valuePredMean());
    ERRORS.check("val/error", gold.get("val/error").asDouble(), st.valueError());
    ERRORS.check("val/clipfrac", gold.get("val/clipfrac").asDouble(), st.valueClipFrac());
    ERRORS.check("val/mean", gold.get("val/mean").asDouble(), st.valuesMean());
    ERRORS.check("val/var", gold.get("val/var").asDouble(), st.valuesVar());
    ERRORS.check("vf_coef * loss/value", gold.get("vf_coef_times_vf_loss").asDouble(),
        s.config.vfCoef() * st.valueLoss());
    assertEquals(gold.get("loss/total").asDouble(), st.metrics().get("ppo/loss/total"), PpoGolden.README_ABS_TOL);
  }

  @ParameterizedTest
  @MethodSource("scenarios")
  void stepStatsAndAdaptiveKlMatchGolden(String name) {
    JsonNode root = PpoGolden.root();
    JsonNode sc = root.get("scenarios").get(name);
    Step s = run(root, sc);
    RolloutSums sums = RolloutSums.of(s.kl, s.logProbs, s.rewards.nonScoreReward(), s.rewards.rewards(), s.mask,
        s.scores);
    JsonNode gold = sc.get("step_stats");
    ERRORS.check("objective/kl", gold.get("objective/kl").asDouble(), sums.objectiveKl());
    ERRORS.check("objective/entropy", gold.get("objective/entropy").asDouble(), sums.objectiveEntropy());
    ERRORS.check("ppo/mean_non_score_reward", gold.get("ppo/mean_non_score_reward").asDouble(),
        sums.meanNonScoreReward());
    ERRORS.check("ppo/mean_scores", gold.get("ppo/mean_scores").asDouble(), sums.metrics().get("ppo/mean_scores"));
    ERRORS.check("ppo/std_scores", gold.get("ppo/std_scores").asDouble(), sums.metrics().get("ppo/std_scores"));
    KlController ctl = KlController.from(s.config);
    ERRORS.check("objective/kl_coef", gold.get("objective/kl_coef").asDouble(), ctl.coef());
    ERRORS.check("kl_coef_after_adaptive_update", gold.get("kl_coef_after_adaptive_update").asDouble(),
        ctl.updated(sums.objectiveKl(), s.config.batchSize()).coef());
  }

  /**
   * Rows {0, 1} and {2, 3} on two simulated workers: the all-reduced sums must reproduce the
   * golden whitened advantages, loss statistics and step statistics, and the shards' gradients
   * must equal the single-worker gradients.
   */
  @ParameterizedTest
  @MethodSource("scenarios")
  void twoWorkersReproduceTheWholeBatch(String name) {
    JsonNode root = PpoGolden.root();
    JsonNode sc = root.get("scenarios").get(name);
    Step s = run(root, sc);
    int[][] shards = {{0, 1}, {2, 3}};
    double[][] advRaw = s.gae.advantages();

    // advantage whitening: round 1 (count, sum) -> global mean; round 2 squared deviations
    MaskedMoments round1 = MaskedMoments.empty(0.0);
    for (int[] rows : shards) {
      round1 = round1.plus(MaskedMoments.fromArray(0.0, MaskedMoments.of(rows(advRaw, rows), rows(s.mask, rows)).toArray()));
    }
    double globalMean = round1.mean();
    MaskedMoments round2 = MaskedMoments.empty(globalMean);
    for (int[] rows : shards) {
      round2 = round2.plus(MaskedMoments.of(rows(advRaw, rows), rows(s.mask, rows), globalMean));
    }
    double[][] goldAdv = PpoGolden.grid(sc.get("per_token_full_grid").get("advantages"));
    for (int[] rows : shards) {
      ERRORS.check("advantages (2 workers)", rows(goldAdv, rows), MaskedStats.whiten(rows(advRaw, rows), round2, true));
    }

    // loss: all-reduce the sums, then every worker's gradients use the global token count
    PpoLoss loss = PpoLoss.from(s.config);
    LossInputs whole = lossInputs(s);
    LossSums total = null;
    for (int[] rows : shards) {
      LossSums part = LossSums.fromArray(loss.sums(shard(whole, rows)).toArray());
      total = total == null ? part : total.plus(part);
    }
    LossStats st = loss.stats(total);
    JsonNode gold = sc.get("minibatch_loss");
    ERRORS.check("loss/total (2 workers)", gold.get("loss/total").asDouble(), st.totalLoss());
    ERRORS.check("loss/value (2 workers)", gold.get("loss/value").asDouble(), st.valueLoss());
    ERRORS.check("returns/var (2 workers)", gold.get("returns/var").asDouble(), st.returnsVar());
    LossGradients single = loss.compute(whole).gradients();
    for (int[] rows : shards) {
      LossGradients part = loss.gradients(shard(whole, rows), st);
      assertGridEquals(rows(single.logProbs(), rows), part.logProbs());
      assertGridEquals(rows(single.valuePreds(), rows), part.valuePreds());
    }

    // step statistics and the KL controller input
    RolloutSums rollout = null;
    for (int[] rows : shards) {
      RolloutSums part = RolloutSums.fromArray(RolloutSums.of(rows(s.kl, rows), rows(s.logProbs, rows),
          rows(s.rewards.nonScoreReward(), rows), rows(s.rewards.rewards(), rows), rows(s.mask, rows),
          pick(s.scores, rows)).toArray());
      rollout = rollout == null ? part : rollout.plus(part);
    }
    ERRORS.check("objective/kl (2 workers)", sc.get("step_stats").get("objective/kl").asDouble(),
        rollout.objectiveKl());
    ERRORS.check("ppo/std_scores (2 workers)", sc.get("step_stats").get("ppo/std_scores").asDouble(),
        rollout.metrics().get("ppo/std_scores"));
  }

  @AfterAll
  static void printErrors() {
    System.out.print(ERRORS.report("PpoStepGoldenTest (4 scenarios)"));
  }

  private static LossInputs shard(LossInputs in, int[] r) {
    return new LossInputs(rows(in.oldLogProbs(), r), rows(in.oldValues(), r), rows(in.logProbs(), r),
        rows(in.valuePreds(), r), rows(in.mask(), r), rows(in.advantages(), r), rows(in.returns(), r));
  }

  private static double[][] rows(double[][] grid, int[] r) {
    return Arrays.stream(r).mapToObj(j -> grid[j].clone()).toArray(double[][]::new);
  }

  private static double[] pick(double[] v, int[] r) {
    return Arrays.stream(r).mapToDouble(j -> v[j]).toArray();
  }

  private static void assertGridEquals(double[][] expected, double[][] actual) {
    for (int j = 0; j < expected.length; j++) {
      for (int t = 0; t < expected[j].length; t++) {
        assertEquals(expected[j][t], actual[j][t], 1e-15 * Math.max(1, Math.abs(expected[j][t])));
      }
    }
  }
}
