package ai.cory.worker.train;

import ai.cory.worker.comm.Collective;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.cory.common.config.OptimizerSettings;
import ai.cory.common.config.Compute;
import ai.cory.common.cuda.CudaDevices;
import ai.cory.common.cuda.DeviceRuntime;
import ai.cory.common.cuda.EmulatedGpu;
import ai.cory.common.model.Accelerator;
import ai.cory.common.cory.AgentId;
import ai.cory.common.io.LocalFileSource;
import ai.cory.common.model.CausalLm;
import ai.cory.common.ppo.KlController;
import ai.cory.common.ppo.KlPenalty;
import ai.cory.common.ppo.LossStats;
import ai.cory.common.ppo.PpoConfig;
import ai.cory.common.ppo.PpoGolden;
import ai.cory.common.testing.SharedAssets;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * One whole PPO step of {@link PpoStep} with the real engine on tiny-gpt2 (float64) against
 * {@code golden/ppo_step_gpt2_tiny.json}, in its four scenarios (reference identical /
 * perturbed x KL estimator {@code full} / {@code kl}): the rollout forward (log-probs,
 * reference log-probs, values), KL, rewards, GAE, whitened advantages, the minibatch loss
 * statistics, the gradient of {@code loss/total} w.r.t. every tensor including the value head,
 * the step statistics and the adaptive KL update; then the Adam step itself.
 *
 * <p>Runs in float64 (all four scenarios) and float32 (the two with a perturbed reference), and
 * float32 with the policy and the reference placed on a device ({@link CausalLm#placeOn}; the
 * emulated device, so the whole step's device path runs here: rollout scoring with the exact
 * KL's reference block going up, the minibatch backward, the gradient coming down for Adam on
 * the host and the updated parameters going back up).
 * Tolerances: the README's float32 budgets (per-token arrays and loss stats abs 1e-5, gradient
 * norms and sums rel 1e-3 or abs 1e-6) always; in float64 much tighter ones too (1e-9 abs on
 * per-token arrays, 1e-7 rel on gradients). Measured errors are printed.
 */
final class PpoStepEngineGoldenTest {
  private static final double README_ABS = 1e-5;
  private static final double README_GRAD_REL = 1e-3;
  private static final double F64_ABS = 1e-9;
  private static final double F64_GRAD_REL = 1e-7;
  private static final Map<String, Double> WORST = new TreeMap<>();

  static java.util.stream.Stream<org.junit.jupiter.params.provider.Arguments> scenarios() {
    java.util.stream.Stream.Builder<org.junit.jupiter.params.provider.Arguments> b = java.util.stream.Stream.builder();
    for (String name : new String[] {"ref_identical__kl_full", "ref_identical__kl_kl", "ref_perturbed__kl_full",
        "ref_perturbed__kl_kl"}) {
      b.add(org.junit.jupiter.params.provider.Arguments.of(name, DataType.DOUBLE, "host"));
      if (name.startsWith("ref_perturbed")) { // float32 on the scenarios with a non-zero KL
        b.add(org.junit.jupiter.params.provider.Arguments.of(name, DataType.FLOAT, "host"));
        // and with both models placed on a device (emulated: every launch carried out in Java;
        // the machine's GPU 0 where it has one, else skipped), Adam's step there too
        b.add(org.junit.jupiter.params.provider.Arguments.of(name, DataType.FLOAT, "emulated"));
        b.add(org.junit.jupiter.params.provider.Arguments.of(name, DataType.FLOAT, "gpu"));
      }
    }
    return b.build();
  }

  /** float64 runs must meet the tight bounds too; float32 runs the README's. */
  private static boolean tight = true;

  private static final Map<String, CausalLm> LOADED = new java.util.HashMap<>();

  /** A fresh copy of a shared model in the given precision (each file is read once per JVM and type). */
  private static CausalLm load(String model, DataType type) throws IOException {
    String key = model + "/" + type;
    CausalLm base = LOADED.get(key);
    if (base == null) {
      base = CausalLm.load(new LocalFileSource(SharedAssets.path(model)), type, 0);
      LOADED.put(key, base);
    }
    return CausalLm.of(base.params().copy());
  }

  private static PpoConfig config(JsonNode c, KlPenalty penalty) {
    return PpoGolden.config(c).toBuilder().klPenalty(penalty).learningRate(1e-3).build();
  }


  private static List<int[]> intRows(JsonNode node) {
    List<int[]> out = new ArrayList<>();
    for (JsonNode row : node) {
      int[] r = new int[row.size()];
      for (int i = 0; i < r.length; i++) {
        r[i] = row.get(i).asInt();
      }
      out.add(r);
    }
    return out;
  }


  private static void check(String what, double expected, double actual, double f64Abs) {
    double err = Math.abs(expected - actual);
    WORST.merge((tight ? "f64 " : "f32 ") + what, err, Math::max);
    assertTrue(err <= README_ABS, () -> what + ": expected " + expected + ", got " + actual + " (README tol)");
    assertTrue(!tight || err <= f64Abs * Math.max(1, Math.abs(expected)),
        () -> what + ": expected " + expected + ", got " + actual + " (float64 tol)");
  }

  /** Grid entries where {@code where} is 1 (null: all). */
  private static void checkGrid(String what, double[][] expected, double[][] actual, double[][] where) {
    assertEquals(expected.length, actual.length, what + " rows");
    for (int j = 0; j < expected.length; j++) {
      assertEquals(expected[j].length, actual[j].length, what + " columns, row " + j);
      for (int t = 0; t < expected[j].length; t++) {
        if (where == null || where[j][t] != 0) {
          check(what, expected[j][t], actual[j][t], F64_ABS);
        }
      }
    }
  }

  private static void checkGradient(String what, double expected, double actual) {
    double err = Math.abs(expected - actual);
    double rel = err / Math.max(Math.abs(expected), 1e-6);
    WORST.merge((tight ? "f64 " : "f32 ") + "grad rel: " + what.replaceAll("^h\\.\\d+\\..*", "h.*"), rel, Math::max);
    assertTrue(err <= README_GRAD_REL * Math.abs(expected) + 1e-6,
        () -> what + ": expected " + expected + ", got " + actual + " (README tol)");
    assertTrue(!tight || err <= F64_GRAD_REL * Math.abs(expected) + 1e-12,
        () -> what + ": expected " + expected + ", got " + actual + " (float64 tol)");
  }

  @ParameterizedTest
  @MethodSource("scenarios")
  void wholeStepMatchesGolden(String name, DataType type, String placement) throws IOException {
    CudaDevices.Probe probe = placement.equals("gpu") ? CudaDevices.probe(false) : null;
    assumeTrue(probe == null || probe.usable(), () -> "no usable GPU here: " + probe.whyNot());
    try (DeviceRuntime gpu = probe == null ? null
        : DeviceRuntime.open(probe.gpus().get(0), 1L << 30, Compute.GemmMath.FP32)) {
      wholeStep(name, type, placement.equals("emulated") ? EmulatedGpu.open(256L << 20)
          : gpu == null ? null : gpu.accelerator());
    }
  }

  private void wholeStep(String name, DataType type, Accelerator device) throws IOException {
    tight = type == DataType.DOUBLE;
    JsonNode root = SharedAssets.golden("ppo_step_gpt2_tiny.json");
    JsonNode sc = root.get("scenarios").get(name);
    PpoConfig config = config(root.get("ppo_config"), KlPenalty.fromTrlName(sc.get("kl_penalty").asText()));

    CausalLm policy = load("assets/models/tiny-gpt2", type);
    JsonNode vh = root.get("value_head");
    policy.params().get("v_head.summary.weight").assign(Nd4j.createFromArray(PpoGolden.grid(vh.get("v_head.summary.weight"))));
    policy.params().get("v_head.summary.bias").assign(Nd4j.createFromArray(PpoGolden.vector(vh.get("v_head.summary.bias"))));
    CausalLm reference = load(sc.get("ref_model").asText(), type);
    if (device != null) {
      policy.placeOn(device);
      reference.placeOn(device);
    }
    Agent agent = new Agent(AgentId.A, policy,
        new AdamOptimizer(policy.params().layout().size(), type, config.learningRate(),
            OptimizerSettings.defaults()), KlController.from(config));
    PpoStep step = new PpoStep(reference, config, 3, Collective.single()); // 3: two scoring chunks

    PpoBatch batch = new PpoBatch(intRows(root.get("queries")), intRows(root.get("responses")),
        root.get("pad_token_id").asInt());
    assertEquals(root.get("input_ids").size(), batch.rows());
    double[] scores = PpoGolden.vector(root.get("scores"));
    PreparedBatch prepared = step.prepare(agent, batch, scores);

    // rollout forward and per-token quantities
    JsonNode g = sc.get("per_token_full_grid");
    double[][] mask = PpoGolden.grid(g.get("mask"));
    checkGrid("mask", mask, batch.mask(), null);
    checkGrid("logprobs", PpoGolden.grid(g.get("logprobs")), prepared.logProbs(), mask);
    checkGrid("ref_logprobs", PpoGolden.grid(g.get("ref_logprobs")), prepared.refLogProbs(), mask);
    checkGrid("values_raw", PpoGolden.grid(g.get("values_raw")), prepared.values(), mask);
    checkGrid("kl", PpoGolden.grid(g.get("kl")), prepared.kl(), mask);
    checkGrid("non_score_reward", PpoGolden.grid(g.get("non_score_reward")), prepared.rewards().nonScoreReward(), mask);
    checkGrid("rewards", PpoGolden.grid(g.get("rewards")), prepared.rewards().rewards(), mask);
    // determined by masked-in inputs only: compared on the whole grid
    checkGrid("values (masked)", PpoGolden.grid(g.get("values")), prepared.gae().maskedValues(), null);
    checkGrid("advantages_before_whitening", PpoGolden.grid(g.get("advantages_before_whitening")),
        prepared.gae().advantages(), null);
    checkGrid("returns", PpoGolden.grid(g.get("returns")), prepared.gae().returns(), null);
    checkGrid("advantages", PpoGolden.grid(g.get("advantages")), prepared.advantages(), null);

    // step statistics
    JsonNode ss = sc.get("step_stats");
    check("objective/kl", ss.get("objective/kl").asDouble(), prepared.sums().objectiveKl(), F64_ABS);
    check("objective/entropy", ss.get("objective/entropy").asDouble(), prepared.sums().objectiveEntropy(), F64_ABS);
    check("ppo/mean_non_score_reward", ss.get("ppo/mean_non_score_reward").asDouble(),
        prepared.sums().meanNonScoreReward(), F64_ABS);
    check("objective/kl_coef", ss.get("objective/kl_coef").asDouble(), prepared.klCoef(), 0);

    // the minibatch: loss statistics and the gradient of loss/total (no optimizer step)
    policy.zeroGrad();
    LossStats st = step.accumulateGradients(agent, prepared, new int[] {0, 1, 2, 3}, 1.0);
    assertFalse(st.skipped());
    JsonNode ml = sc.get("minibatch_loss");
    Map<String, Double> statsByTrlName = Map.ofEntries(
        Map.entry("loss/policy", st.policyLoss()), Map.entry("loss/value", st.valueLoss()),
        Map.entry("loss/total", st.totalLoss()), Map.entry("policy/entropy", st.entropy()),
        Map.entry("policy/approxkl", st.approxKl()), Map.entry("policy/policykl", st.policyKl()),
        Map.entry("policy/clipfrac", st.policyClipFrac()), Map.entry("policy/ratio_mean", st.ratioMean()),
        Map.entry("returns/mean", st.returnsMean()), Map.entry("returns/var", st.returnsVar()),
        Map.entry("val/vpred", st.valuePredMean()), Map.entry("val/error", st.valueError()),
        Map.entry("val/clipfrac", st.valueClipFrac()), Map.entry("val/mean", st.valuesMean()),
        Map.entry("val/var", st.valuesVar()));
    statsByTrlName.forEach((k, v) -> check(k, ml.get(k).asDouble(), v, F64_ABS));

    JsonNode gold = sc.get("gradients");
    double globalSq = 0;
    for (JsonNode p : gold.get("params")) {
      String tensor = p.get("name").asText();
      INDArray grad = policy.grads().get(tensor);
      checkGradient(tensor + " l2", p.get("l2_norm").asDouble(), grad.norm2Number().doubleValue());
      checkGradient(tensor + " sum", p.get("sum").asDouble(),
          grad.castTo(DataType.DOUBLE).sumNumber().doubleValue()); // summed in double
      double[] first = grad.reshape(grad.length()).get(org.nd4j.linalg.indexing.NDArrayIndex.interval(0,
          Math.min(16, grad.length()))).toDoubleVector();
      double[] expected = PpoGolden.vector(p.get("first16"));
      double scale = 0;
      for (double e : expected) {
        scale = Math.max(scale, Math.abs(e));
      }
      for (int i = 0; i < expected.length; i++) {
        double err = Math.abs(expected[i] - first[i]);
        WORST.merge((tight ? "f64 " : "f32 ") + "grad first16 / max", err / Math.max(scale, 1e-12), Math::max);
        assertTrue(err <= (tight ? 1e-7 : 1e-3) * scale + 1e-14, tensor + " first16[" + i + "]: " + expected[i] + " vs " + first[i]);
      }
      globalSq += Math.pow(grad.norm2Number().doubleValue(), 2);
    }
    assertEquals(policy.params().names().size(), gold.get("params").size(), "every tensor has a golden gradient");
    // the golden global norm is accumulated in float32 (~2 ulp off the float64 per-tensor norms):
    // README tolerance only
    double globalGold = gold.get("global_l2_norm").asDouble();
    WORST.merge((tight ? "f64 " : "f32 ") + "grad rel: global l2 (float32 golden)", Math.abs(globalGold - Math.sqrt(globalSq)) / globalGold,
        Math::max);
    assertEquals(globalGold, Math.sqrt(globalSq), README_GRAD_REL * globalGold, "global gradient L2 norm");

    // the full step (1 epoch, 1 minibatch): same statistics, one Adam step, adaptive KL update
    INDArray before = policy.params().flat().dup();
    INDArray gradient = policy.grads().flat().dup();
    PpoStepReport report = step.train(agent, prepared, 7);
    assertEquals(1, report.optimizerSteps());
    check("train: ppo/loss/total", ml.get("loss/total").asDouble(), report.metric("ppo/loss/total"), F64_ABS);
    check("train: ppo/val/error", ml.get("val/error").asDouble(), report.metric("ppo/val/error"), F64_ABS);
    check("kl_coef_after_adaptive_update", ss.get("kl_coef_after_adaptive_update").asDouble(),
        report.klCoefAfter(), F64_ABS);
    // Adam's first step with PyTorch's epsilon: delta = lr g / (|g| + eps)
    double[] g0 = gradient.toDoubleVector();
    double[] p0 = before.toDoubleVector();
    double[] p1 = policy.params().flat().toDoubleVector();
    for (int i = 0; i < g0.length; i += 997) {
      double expectedDelta = config.learningRate() * g0[i] / (Math.abs(g0[i]) + 1e-8);
      // float32: the parameter is rounded to its ulp; and where |g| is near eps, Adam's
      // normalisation magnifies the float rounding noise of the recomputed gradient, so only
      // gradients well above eps are compared (Adam itself is checked in double in AdamOptimizerTest)
      if (!tight && Math.abs(g0[i]) < 1e-6) {
        continue;
      }
      double tol = tight ? 1e-12 : Math.ulp((float) p0[i]) + 1e-5 * config.learningRate();
      assertEquals(expectedDelta, p0[i] - p1[i], tol, "Adam first-step update of parameter " + i);
    }
    assertTrue(reference.params().flat().equalsWithEps(load(sc.get("ref_model").asText(), type).params().flat(), 0),
        "the reference model must not change");
  }

  @AfterAll
  static void printErrors() {
    StringBuilder sb = new StringBuilder("PpoStepEngineGoldenTest: max error vs golden (abs; 'grad rel' relative)\n");
    WORST.forEach((k, v) -> sb.append(String.format("  %-44s %.3e%n", k, v)));
    System.out.print(sb);
  }
}
