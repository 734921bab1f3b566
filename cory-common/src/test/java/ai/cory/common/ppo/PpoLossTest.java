package ai.cory.common.ppo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Random;
import java.util.function.DoubleSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The PPO loss against the golden {@code loss_function_unit_case} (ratios and values on both
 * sides of the clip ranges, a mask with holes), its analytic gradients against the golden
 * autograd gradients and against central finite differences in double, and the ratio-threshold
 * skip rule.
 */
final class PpoLossTest {
  private static final PpoGolden ERRORS = new PpoGolden();
  private static final PpoLoss LOSS = new PpoLoss(0.2, 0.2, 0.1, 10.0);

  private static LossInputs unitCaseInputs(JsonNode in) {
    return new LossInputs(PpoGolden.grid(in.get("old_logprobs")), PpoGolden.grid(in.get("values")),
        PpoGolden.grid(in.get("logprobs")), PpoGolden.grid(in.get("vpreds")), PpoGolden.grid(in.get("mask")),
        PpoGolden.grid(in.get("advantages")), PpoGolden.grid(in.get("returns")));
  }

  @Test
  void unitCaseStatsAndGradientsMatchGolden() {
    JsonNode unit = PpoGolden.root().get("loss_function_unit_case");
    PpoLoss.Result r = LOSS.compute(unitCaseInputs(unit.get("inputs")));
    JsonNode out = unit.get("outputs");
    LossStats st = r.stats();
    assertFalse(st.skipped());
    ERRORS.check("loss/policy", out.get("loss/policy").asDouble(), st.policyLoss());
    ERRORS.check("loss/value", out.get("loss/value").asDouble(), st.valueLoss());
    ERRORS.check("loss/total", out.get("loss/total").asDouble(), st.totalLoss());
    ERRORS.check("policy/approxkl", out.get("policy/approxkl").asDouble(), st.approxKl());
    ERRORS.check("policy/policykl", out.get("policy/policykl").asDouble(), st.policyKl());
    ERRORS.check("policy/clipfrac", out.get("policy/clipfrac").asDouble(), st.policyClipFrac());
    ERRORS.check("policy/advantages_mean", out.get("policy/advantages_mean").asDouble(), st.advantagesMean());
    ERRORS.check("policy/ratio_mean", out.get("policy/ratio_mean").asDouble(), st.ratioMean());
    ERRORS.check("returns/mean", out.get("returns/mean").asDouble(), st.returnsMean());
    ERRORS.check("returns/var", out.get("returns/var").asDouble(), st.returnsVar());
    ERRORS.check("val/vpred", out.get("val/vpred").asDouble(), st.valuePredMean());
    ERRORS.check("val/error", out.get("val/error").asDouble(), st.valueError());
    ERRORS.check("val/clipfrac", out.get("val/clipfrac").asDouble(), st.valueClipFrac());
    ERRORS.check("val/mean", out.get("val/mean").asDouble(), st.valuesMean());
    ERRORS.check("val/var", out.get("val/var").asDouble(), st.valuesVar());
    ERRORS.check("vf_coef * loss/value", out.get("vf_coef_times_vf_loss").asDouble(), 0.1 * st.valueLoss());
    assertEquals(0.25, st.policyClipFrac(), 0.0);
    assertEquals(0.375, st.valueClipFrac(), 0.0);
    ERRORS.check("d loss/total / d logprobs", PpoGolden.grid(unit.get("grad_total_loss_wrt_logprobs")),
        r.gradients().logProbs());
    ERRORS.check("d loss/total / d vpreds", PpoGolden.grid(unit.get("grad_total_loss_wrt_vpreds")),
        r.gradients().valuePreds());
  }

  @Test
  void gradientsConvertToEngineArrays() {
    JsonNode unit = PpoGolden.root().get("loss_function_unit_case");
    LossGradients g = LOSS.compute(unitCaseInputs(unit.get("inputs"))).gradients();
    INDArray dLogProbs = g.logProbsArray(DataType.FLOAT); // (B, T)
    assertEquals(DataType.FLOAT, dLogProbs.dataType());
    assertArrayEquals(new long[] {2, 5}, dLogProbs.shape());
    double[][] gold = PpoGolden.grid(unit.get("grad_total_loss_wrt_logprobs"));
    for (int j = 0; j < 2; j++) {
      for (int t = 0; t < 5; t++) {
        assertEquals(gold[j][t], dLogProbs.getDouble(j, t), 1e-7 * Math.max(1, Math.abs(gold[j][t])));
      }
    }
    double[][] back = Grids.fromINDArray("dValuePreds", g.valuePredsArray(DataType.DOUBLE));
    assertArrayEquals(g.valuePreds()[1], back[1], 0.0);
  }

  @Test
  void unitCaseGradientsMatchFiniteDifferences() {
    LossInputs in = unitCaseInputs(PpoGolden.root().get("loss_function_unit_case").get("inputs"));
    assertGradientsMatchFiniteDifferences(in);
  }

  /**
   * The golden PPO step's minibatch: ratio = 1 and v = V_old on every masked-in token, so both
   * max() calls tie everywhere (torch splits the tie). The loss is smooth there, so central
   * differences pin down the tie convention: d/dlogp = -A / N, d/dv = vf_coef (v - R) / N.
   */
  @Test
  void goldenStepTiesAtRatioOneMatchFiniteDifferences() {
    JsonNode g = PpoGolden.root().get("scenarios").get("ref_perturbed__kl_kl").get("per_token_full_grid");
    double[][] logProbs = PpoGolden.grid(g.get("logprobs"));
    double[][] mask = PpoGolden.grid(g.get("mask"));
    double[][] adv = PpoGolden.grid(g.get("advantages"));
    double[][] ret = PpoGolden.grid(g.get("returns"));
    double[][] vpreds = PpoGolden.grid(g.get("values_raw"));
    LossInputs in = new LossInputs(logProbs, PpoGolden.grid(g.get("values")), Grids.copy(logProbs), vpreds, mask,
        adv, ret);
    LossGradients grads = LOSS.compute(in).gradients();
    double n = MaskedMoments.of(mask, mask).count();
    for (int j = 0; j < mask.length; j++) {
      for (int t = 0; t < mask[j].length; t++) {
        assertEquals(mask[j][t] * -adv[j][t] / n, grads.logProbs()[j][t], 1e-17);
        assertEquals(mask[j][t] * 0.1 * (vpreds[j][t] - ret[j][t]) / n, grads.valuePreds()[j][t], 1e-17);
      }
    }
    assertGradientsMatchFiniteDifferences(in);
  }

  /** Random minibatches with ratios and values on both sides of the clips, holes in the mask. */
  @Test
  void randomGradientsMatchFiniteDifferences() {
    Random rng = new Random(20241107);
    for (int trial = 0; trial < 5; trial++) {
      int rows = 3;
      int cols = 7;
      double[][] old = new double[rows][cols];
      double[][] lp = new double[rows][cols];
      double[][] oldV = new double[rows][cols];
      double[][] v = new double[rows][cols];
      double[][] adv = new double[rows][cols];
      double[][] ret = new double[rows][cols];
      double[][] mask = new double[rows][cols];
      for (int j = 0; j < rows; j++) {
        for (int t = 0; t < cols; t++) {
          old[j][t] = -5 * rng.nextDouble();
          lp[j][t] = old[j][t] + 0.8 * (rng.nextDouble() - 0.5); // ratios ~0.67 .. 1.49
          oldV[j][t] = rng.nextGaussian();
          v[j][t] = oldV[j][t] + 0.8 * (rng.nextDouble() - 0.5); // +-0.4 around a 0.2 clip
          adv[j][t] = rng.nextGaussian();
          ret[j][t] = rng.nextGaussian();
          mask[j][t] = rng.nextDouble() < 0.75 ? 1 : 0;
        }
      }
      mask[0][0] = 1;
      mask[0][1] = 1;
      LossInputs in = new LossInputs(old, oldV, lp, v, mask, adv, ret);
      LossStats st = LOSS.compute(in).stats();
      assertTrue(st.policyClipFrac() > 0 && st.valueClipFrac() > 0, "the trial must exercise both clips");
      assertGradientsMatchFiniteDifferences(in);
    }
  }

  private static void assertGradientsMatchFiniteDifferences(LossInputs in) {
    LossGradients g = LOSS.compute(in).gradients();
    double h = 1e-6;
    for (int j = 0; j < in.rows(); j++) {
      for (int t = 0; t < in.cols(); t++) {
        int row = j;
        int col = t;
        double fdLogProb = centralDifference(in.logProbs(), row, col, h, () -> LOSS.compute(in).stats().totalLoss());
        double fdValue = centralDifference(in.valuePreds(), row, col, h, () -> LOSS.compute(in).stats().totalLoss());
        ERRORS.worstOnly("finite difference d/d logprobs", fdLogProb, g.logProbs()[row][col]);
        ERRORS.worstOnly("finite difference d/d vpreds", fdValue, g.valuePreds()[row][col]);
        assertEquals(fdLogProb, g.logProbs()[row][col], 1e-8, "d loss/d logprob at " + row + "," + col);
        assertEquals(fdValue, g.valuePreds()[row][col], 1e-8, "d loss/d vpred at " + row + "," + col);
      }
    }
  }

  /** (f(x + h) - f(x - h)) / 2h, perturbing {@code grid[j][t]} in place and restoring it. */
  private static double centralDifference(double[][] grid, int j, int t, double h, DoubleSupplier f) {
    double x = grid[j][t];
    grid[j][t] = x + h;
    double plus = f.getAsDouble();
    grid[j][t] = x - h;
    double minus = f.getAsDouble();
    grid[j][t] = x;
    return (plus - minus) / (2 * h);
  }

  @Test
  void minibatchWithMeanRatioAboveThresholdIsSkipped() {
    JsonNode unit = PpoGolden.root().get("loss_function_unit_case");
    LossInputs base = unitCaseInputs(unit.get("inputs"));
    double[][] lp = Grids.copy(base.oldLogProbs());
    for (double[] row : lp) {
      for (int t = 0; t < row.length; t++) {
        row[t] += 3.0; // ratio e^3 ~ 20.1 > 10
      }
    }
    LossInputs in = new LossInputs(base.oldLogProbs(), base.oldValues(), lp, base.valuePreds(), base.mask(),
        base.advantages(), base.returns());
    PpoLoss.Result r = LOSS.compute(in);
    assertTrue(r.stats().skipped());
    assertEquals(Math.exp(3.0), r.stats().ratioMean(), 1e-12);
    assertEquals(0.0, r.stats().policyLoss(), 0.0);
    assertEquals(0.0, r.stats().valueLoss(), 0.0);
    assertEquals(0.0, r.stats().totalLoss(), 0.0);
    assertEquals(4.5, r.stats().approxKl(), 1e-12); // statistics are still reported, as TRL does
    for (double[][] g : new double[][][] {r.gradients().logProbs(), r.gradients().valuePreds()}) {
      for (double[] row : g) {
        for (double v : row) {
          assertEquals(0.0, v, 0.0);
        }
      }
    }
    // the rule is strict: a mean ratio equal to the threshold is trained on
    PpoLoss atThreshold = new PpoLoss(0.2, 0.2, 0.1, r.stats().ratioMean());
    assertFalse(atThreshold.compute(in).stats().skipped());
    assertTrue(PpoLoss.exceedsRatioThreshold(10.000001, 10.0));
    assertFalse(PpoLoss.exceedsRatioThreshold(10.0, 10.0));
  }

  @Test
  void entropyStatisticIsTheMaskedMeanWhenSupplied() {
    LossInputs base = unitCaseInputs(PpoGolden.root().get("loss_function_unit_case").get("inputs"));
    assertTrue(Double.isNaN(LOSS.compute(base).stats().entropy()));
    double[][] entropy = {{99, 1, 2, 3, 4}, {5, 6, 7, 8, 99}}; // masked-out corners hold 99
    LossInputs in = new LossInputs(base.oldLogProbs(), base.oldValues(), base.logProbs(), base.valuePreds(),
        base.mask(), base.advantages(), base.returns(), entropy);
    assertEquals(4.5, LOSS.compute(in).stats().entropy(), 1e-15);
  }

  @Test
  void earlyStoppingRuleAndBadInputs() {
    assertTrue(PpoLoss.shouldStopEarly(1.51, 1.0));
    assertFalse(PpoLoss.shouldStopEarly(1.5, 1.0));
    double[][] a = {{1, 2}};
    double[][] wrong = {{1, 2, 3}};
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new LossInputs(a, a, a, wrong, new double[][] {{1, 0}}, a, a));
    assertTrue(e.getMessage().contains("valuePreds") && e.getMessage().contains("(1, 3)"), e.getMessage());
    IllegalArgumentException m = assertThrows(IllegalArgumentException.class,
        () -> new LossInputs(a, a, a, a, new double[][] {{1, 0.5}}, a, a));
    assertTrue(m.getMessage().contains("mask[0][1]"), m.getMessage());
    LossInputs empty = new LossInputs(a, a, a, a, new double[][] {{0, 0}}, a, a);
    assertThrows(IllegalStateException.class, () -> LOSS.compute(empty));
  }

  @AfterAll
  static void printErrors() {
    System.out.print(ERRORS.report("PpoLossTest"));
  }
}
