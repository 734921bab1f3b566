package ai.cory.common.sampling;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** Each HF processor on hand-computed examples, then the whole pipeline against HfReference. */
class LogitsSamplerTest {
  private static final double EXACT = 1e-15;
  private static final int[] NO_HISTORY = {};

  private static double[] probs(SamplingParams p, double[] logits, int[] history) {
    double[] out = new double[logits.length];
    new LogitsSampler(p, logits.length).distribution(logits, history, out);
    return out;
  }

  /** softmax written out by hand for the expectations (independent of the sampler). */
  private static double[] softmaxOf(double... s) {
    double sum = 0;
    for (double v : s) {
      sum += Math.exp(v);
    }
    double[] p = new double[s.length];
    for (int i = 0; i < s.length; i++) {
      p[i] = Math.exp(s[i]) / sum;
    }
    return p;
  }

  private static SamplingParams sampling(double temperature, int topK, double topP, double penalty) {
    return new SamplingParams(false, temperature, topK, topP, penalty);
  }

  @Test
  void repetitionPenaltyDividesPositiveMultipliesNegativeOncePerDistinctId() {
    double[] logits = {2.0, -1.0, 0.5, -3.0, 1.0};
    int[] history = {0, 1, 1, 3, 1}; // id 1 three times: penalised once (HF gather/scatter)
    double[] expectedScores = {1.0, -2.0, 0.5, -6.0, 1.0};
    assertArrayEquals(softmaxOf(expectedScores), probs(sampling(1, 0, 1, 2.0), logits, history), 1e-14);
  }

  @Test
  void repetitionPenaltyAppliesUnderGreedy() {
    SamplingParams greedy = new SamplingParams(true, 1, 0, 1, 1.1);
    LogitsSampler sampler = new LogitsSampler(greedy, 3);
    // 3.0 / 1.1 = 2.727 < 2.9: the repeated leader loses.
    assertEquals(1, sampler.sampleRow(new double[] {3.0, 2.9, 1.0}, new int[] {0}, 0.5));
    assertEquals(0, sampler.sampleRow(new double[] {3.0, 2.9, 1.0}, NO_HISTORY, 0.5));
    // Negative logits are multiplied: -0.5 * 1.5 = -0.75 < -0.6.
    LogitsSampler strong = new LogitsSampler(new SamplingParams(true, 1, 0, 1, 1.5), 2);
    assertEquals(1, strong.sampleRow(new double[] {-0.5, -0.6}, new int[] {0}, 0.5));
    // Without penalty, history is irrelevant.
    assertEquals(0, new LogitsSampler(SamplingParams.greedyDecoding(), 2)
        .sampleRow(new double[] {-0.5, -0.6}, new int[] {0, 0}, 0.5));
  }

  @Test
  void greedyTakesFirstIndexOfTheMaximumAndIgnoresWarpers() {
    LogitsSampler sampler = new LogitsSampler(SamplingParams.greedyDecoding(), 4);
    assertEquals(1, sampler.sampleRow(new double[] {1, 5, 5, 2}, NO_HISTORY, 0.99));
    assertEquals(0, sampler.sampleRow(new double[] {7, 7, 7, 7}, NO_HISTORY, 0.0));
    LogitsSampler warped = new LogitsSampler(new SamplingParams(true, 0.3, 1, 0.1, 1.0), 4);
    assertEquals(3, warped.sampleRow(new double[] {-1, -2, -3, 0}, NO_HISTORY, 0.5));
    assertArrayEquals(new double[] {0, 0, 0, 1},
        probs(warped.params(), new double[] {-1, -2, -3, 0}, NO_HISTORY), 0);
  }

  @Test
  void temperatureDividesTheLogits() {
    assertArrayEquals(softmaxOf(2, 4, 6),
        probs(sampling(0.5, 0, 1, 1), new double[] {1, 2, 3}, NO_HISTORY), 1e-14);
    assertArrayEquals(softmaxOf(0.25, 0.5, 0.75),
        probs(sampling(4.0, 0, 1, 1), new double[] {1, 2, 3}, NO_HISTORY), 1e-14);
  }

  @Test
  void penaltyAndTemperatureCompose() {
    // (2 / 2) / 0.5 = 2, (-1 * 2) / 0.5 = -4, 0.5 / 0.5 = 1 (the two commute for T > 0).
    assertArrayEquals(softmaxOf(2.0, -4.0, 1.0),
        probs(sampling(0.5, 0, 1, 2.0), new double[] {2.0, -1.0, 0.5}, new int[] {0, 1}), 1e-14);
  }

  @Test
  void topKKeepsTheKLargestAndEveryTieOfTheKth() {
    double[] logits = {1.0, 3.0, 2.0, 3.0, 0.5};
    assertArrayEquals(new double[] {0, 0.5, 0, 0.5, 0}, probs(sampling(1, 2, 1, 1), logits, NO_HISTORY), EXACT);
    double[] keep3 = softmaxOf(3.0, 2.0, 3.0);
    assertArrayEquals(new double[] {0, keep3[0], keep3[1], keep3[2], 0},
        probs(sampling(1, 3, 1, 1), logits, NO_HISTORY), 1e-15);
    // k = 2 but three logits tie at the 2nd largest value: all three stay (s < kth removed).
    double third = 1.0 / 3;
    assertArrayEquals(new double[] {0, third, third, third, 0},
        probs(sampling(1, 2, 1, 1), new double[] {1, 2, 2, 2, 0}, NO_HISTORY), 1e-15);
    // k >= V is a no-op; k = 1 is greedy-like.
    assertArrayEquals(softmaxOf(logits), probs(sampling(1, 5, 1, 1), logits, NO_HISTORY), 1e-15);
    assertArrayEquals(softmaxOf(logits), probs(sampling(1, 50, 1, 1), logits, NO_HISTORY), 1e-15);
    assertArrayEquals(new double[] {0, 0, 0, 1, 0, 0},
        probs(sampling(1, 1, 1, 1), new double[] {0, 1, 2, 3, 2, 1}, NO_HISTORY), EXACT);
  }

  @Test
  void topPOnExactBoundariesRemovesCumulativeProbabilityLessOrEqualOneMinusP() {
    double[] uniform4 = {0, 0, 0, 0}; // probabilities 0.25 exactly; cumulative 0.25 0.5 0.75 1
    // top_p 0.5: remove cumulative <= 0.5 -> the first two of the stable ascending order (ids 0, 1).
    assertArrayEquals(new double[] {0, 0, 0.5, 0.5}, probs(sampling(1, 0, 0.5, 1), uniform4, NO_HISTORY), EXACT);
    // top_p 0.75: remove cumulative <= 0.25 -> only id 0.
    double third = 1.0 / 3;
    assertArrayEquals(new double[] {0, third, third, third},
        probs(sampling(1, 0, 0.75, 1), uniform4, NO_HISTORY), 1e-15);
    // top_p 0: everything removed but the last of the ascending order (the highest tied id).
    assertArrayEquals(new double[] {0, 0, 0, 1}, probs(sampling(1, 0, 0.0, 1), uniform4, NO_HISTORY), EXACT);
    // top_p 1: off.
    assertArrayEquals(new double[] {0.25, 0.25, 0.25, 0.25},
        probs(sampling(1, 0, 1.0, 1), uniform4, NO_HISTORY), EXACT);
  }

  @Test
  void topPKeepsTheSmallestTopSetReachingP() {
    double[] logits = {Math.log(0.1), Math.log(0.2), Math.log(0.3), Math.log(0.4)};
    // ascending cumulative 0.1 0.3 0.6 1.0
    assertArrayEquals(new double[] {0, 0, 0.3 / 0.7, 0.4 / 0.7},
        probs(sampling(1, 0, 0.65, 1), logits, NO_HISTORY), 1e-14); // remove <= 0.35
    assertArrayEquals(new double[] {0, 0, 0, 1},
        probs(sampling(1, 0, 0.35, 1), logits, NO_HISTORY), 1e-15); // remove <= 0.65
    assertArrayEquals(new double[] {0.1, 0.2, 0.3, 0.4},
        probs(sampling(1, 0, 0.95, 1), logits, NO_HISTORY), 1e-14); // remove <= 0.05: none
    assertArrayEquals(new double[] {0, 0.2 / 0.9, 0.3 / 0.9, 0.4 / 0.9},
        probs(sampling(1, 0, 0.85, 1), logits, NO_HISTORY), 1e-14); // remove <= 0.15
  }

  @Test
  void topPWorksOnTheTopKSurvivorsAndAfterTemperature() {
    double[] logits = {Math.log(0.1), Math.log(0.2), Math.log(0.3), Math.log(0.4)};
    // top-k 3 -> {0.2, 0.3, 0.4} / 0.9; ascending cumulative 2/9 5/9 1; top_p 0.6 removes <= 0.4.
    assertArrayEquals(new double[] {0, 0, 3.0 / 7, 4.0 / 7},
        probs(sampling(1, 3, 0.6, 1), logits, NO_HISTORY), 1e-14);
    // Temperature 0.5 squares the probabilities first: 1 4 9 16 / 30; ascending cumulative
    // 1/30 5/30 14/30; top_p 0.6 removes <= 0.4 -> ids 0, 1 -> 9/25, 16/25.
    assertArrayEquals(new double[] {0, 0, 9.0 / 25, 16.0 / 25},
        probs(sampling(0.5, 0, 0.6, 1), logits, NO_HISTORY), 1e-14);
  }

  @Test
  void wholePipelineMatchesTheLiteralHfTranscriptionOnRandomRows() {
    Random random = new Random(17);
    int vocab = 3000;
    SamplingParams[] configs = {
        sampling(1, 0, 1, 1), sampling(1, 0, 1, 1.1), sampling(0.7, 0, 1, 1.3),
        sampling(1, 50, 1, 1), sampling(1.3, 0, 0.9, 1.1), sampling(1, 40, 0.8, 1.2),
        sampling(2.5, 0, 0.99, 1), sampling(1, 0, 0.3, 1), sampling(1, 2999, 0.97, 1.05),
        new SamplingParams(true, 1, 0, 1, 1.1)};
    for (SamplingParams p : configs) {
      LogitsSampler sampler = new LogitsSampler(p, vocab);
      for (int trial = 0; trial < 4; trial++) {
        // Flat rows (scale 0.05) make top-p examine most of the vocabulary (growth loop).
        double scale = trial % 2 == 0 ? 3.0 : 0.05;
        double[] logits = new double[vocab];
        for (int i = 0; i < vocab; i++) {
          logits[i] = scale * random.nextGaussian();
        }
        logits[random.nextInt(vocab)] = logits[random.nextInt(vocab)]; // one exact tie
        int[] history = new int[40];
        for (int i = 0; i < history.length; i++) {
          history[i] = random.nextInt(vocab);
        }
        double[] expected = HfReference.probabilities(logits, history, p);
        double[] actual = new double[vocab];
        sampler.distribution(logits, history, actual);
        for (int i = 0; i < vocab; i++) {
          assertEquals(expected[i] == 0, actual[i] == 0, p + " trial " + trial + " id " + i + " kept?");
          assertEquals(expected[i], actual[i], 1e-12, p + " trial " + trial + " id " + i);
        }
      }
    }
  }

  @Test
  void inverseCdfWalksTheTokensInIdOrderWithoutFilters() {
    LogitsSampler sampler = new LogitsSampler(SamplingParams.defaults(), 4);
    double[] logits = {Math.log(0.1), Math.log(0.2), Math.log(0.3), Math.log(0.4)};
    assertEquals(0, sampler.sampleRow(logits, NO_HISTORY, 0.0));
    assertEquals(0, sampler.sampleRow(logits, NO_HISTORY, 0.099));
    assertEquals(1, sampler.sampleRow(logits, NO_HISTORY, 0.101));
    assertEquals(2, sampler.sampleRow(logits, NO_HISTORY, 0.5));
    assertEquals(3, sampler.sampleRow(logits, NO_HISTORY, 0.61));
    assertEquals(3, sampler.sampleRow(logits, NO_HISTORY, Math.nextDown(1.0)));
    // A removed token is never drawn, whatever the uniform.
    LogitsSampler topK = new LogitsSampler(sampling(1, 2, 1, 1), 4);
    for (double u = 0; u < 1; u += 0.01) {
      assertTrue(topK.sampleRow(logits, NO_HISTORY, u) >= 2);
    }
  }

  @Test
  void negativeInfinityLogitsAreNeverDrawn() {
    LogitsSampler sampler = new LogitsSampler(sampling(1, 0, 0.9, 1.1), 3);
    double[] logits = {Double.NEGATIVE_INFINITY, 0, Double.NEGATIVE_INFINITY};
    assertEquals(1, sampler.sampleRow(logits, new int[] {0, 1, 2}, 0.999));
  }

  @Test
  void badInputsFailWithClearMessages() {
    LogitsSampler sampler = new LogitsSampler(SamplingParams.defaults().withRepetitionPenalty(1.1), 3);
    IllegalStateException nan = assertThrows(IllegalStateException.class,
        () -> sampler.sampleRow(new double[] {0, Double.NaN, 1}, NO_HISTORY, 0.5));
    assertTrue(nan.getMessage().contains("NaN at token id 1"), nan.getMessage());
    IllegalStateException allMasked = assertThrows(IllegalStateException.class, () -> sampler.sampleRow(
        new double[] {Double.NEGATIVE_INFINITY, Double.NEGATIVE_INFINITY, Double.NEGATIVE_INFINITY},
        NO_HISTORY, 0.5));
    assertTrue(allMasked.getMessage().contains("no valid distribution"), allMasked.getMessage());
    IllegalArgumentException badId = assertThrows(IllegalArgumentException.class,
        () -> sampler.sampleRow(new double[] {0, 0, 1}, new int[] {1, 3}, 0.5));
    assertTrue(badId.getMessage().contains("id 3 at position 1"), badId.getMessage());
    IllegalArgumentException width = assertThrows(IllegalArgumentException.class,
        () -> sampler.sampleRow(new double[] {0, 1}, NO_HISTORY, 0.5));
    assertTrue(width.getMessage().contains("expected vocabSize 3"), width.getMessage());
    assertThrows(IllegalArgumentException.class, () -> sampler.sampleRow(new double[] {0, 0, 1}, NO_HISTORY, 1.0));
  }
}
