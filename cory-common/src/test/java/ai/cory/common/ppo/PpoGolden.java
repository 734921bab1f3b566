package ai.cory.common.ppo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.cory.common.testing.SharedAssets;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.TreeMap;

/**
 * Reads {@code golden/ppo_step_gpt2_tiny.json} (an independent float64 PyTorch re-implementation
 * of TRL 0.7.9's PPO step, cross-checked against TRL's own source to 1e-13) and compares grids,
 * recording the worst error per quantity for the test log.
 */
public final class PpoGolden {
  /** README "PPO per-token arrays" and "PPO loss stats": abs <= 1e-5 (a float32 implementation's budget). */
  static final double README_ABS_TOL = 1e-5;
  /** README: "A float64 implementation should agree to ~1e-10 relative"; ours computes in double. */
  static final double FLOAT64_REL_TOL = 1e-10;

  static final String FILE = "ppo_step_gpt2_tiny.json";
  static final String[] SCENARIOS = {
    "ref_identical__kl_full", "ref_identical__kl_kl", "ref_perturbed__kl_full", "ref_perturbed__kl_kl"
  };

  private final Map<String, Double> worst = new TreeMap<>();

  /**
   * The file's {@code ppo_config} as a {@link PpoConfig}: TRL 0.7.9 defaults overridden by every
   * key the golden step sets (no score clipping).
   */
  public static PpoConfig config(JsonNode c) {
    return PpoConfig.trlDefaults().toBuilder()
        .initKlCoef(c.get("init_kl_coef").asDouble()).adapKlCtrl(c.get("adap_kl_ctrl").asBoolean())
        .target(c.get("target").asDouble()).horizon(c.get("horizon").asDouble())
        .gamma(c.get("gamma").asDouble()).lam(c.get("lam").asDouble())
        .cliprange(c.get("cliprange").asDouble()).cliprangeValue(c.get("cliprange_value").asDouble())
        .vfCoef(c.get("vf_coef").asDouble()).ratioThreshold(c.get("ratio_threshold").asDouble())
        .batchSize(c.get("batch_size").asInt()).miniBatchSize(c.get("mini_batch_size").asInt())
        .ppoEpochs(c.get("ppo_epochs").asInt())
        .gradientAccumulationSteps(c.get("gradient_accumulation_steps").asInt())
        .scoreClip(OptionalDouble.empty()).build();
  }

  static JsonNode root() {
    return SharedAssets.golden(FILE);
  }

  public static double[][] grid(JsonNode node) {
    double[][] out = new double[node.size()][];
    for (int j = 0; j < node.size(); j++) {
      out[j] = vector(node.get(j));
    }
    return out;
  }

  public static double[] vector(JsonNode node) {
    double[] out = new double[node.size()];
    for (int i = 0; i < node.size(); i++) {
      out[i] = node.get(i).asDouble();
    }
    return out;
  }

  /** Asserts one value within both tolerances and records the error under {@code what}. */
  void check(String what, double expected, double actual) {
    double err = Math.abs(expected - actual);
    worst.merge(what, err, Math::max);
    assertTrue(err <= README_ABS_TOL, () -> what + ": expected " + expected + ", got " + actual + " (README tol)");
    assertTrue(err <= FLOAT64_REL_TOL * Math.max(1.0, Math.abs(expected)),
        () -> what + ": expected " + expected + ", got " + actual + ", |err| " + err + " (float64 tol)");
  }

  /** Records an error under {@code what} without asserting (the caller asserts its own bound). */
  void worstOnly(String what, double expected, double actual) {
    worst.merge(what, Math.abs(expected - actual), Math::max);
  }

  /** Asserts a grid element-wise and records the worst error under {@code what}. */
  void check(String what, double[][] expected, double[][] actual) {
    assertEquals(expected.length, actual.length, what + " rows");
    for (int j = 0; j < expected.length; j++) {
      assertEquals(expected[j].length, actual[j].length, what + " columns of row " + j);
      for (int t = 0; t < expected[j].length; t++) {
        check(what, expected[j][t], actual[j][t]);
      }
    }
  }

  /** Worst absolute errors seen, one line per quantity. */
  String report(String title) {
    StringBuilder sb = new StringBuilder(title).append(": max |error| vs golden\n");
    worst.forEach((k, v) -> sb.append(String.format("  %-40s %.3e%n", k, v)));
    return sb.toString();
  }
}
