package ai.cory.common.ppo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.OptionalDouble;
import java.util.stream.DoubleStream;
import org.junit.jupiter.api.Test;

/** Running score moments against a direct two-pass computation, and score scaling / clipping. */
final class RunningMomentsTest {
  private static final double[] B1 = {1.0, -0.5, 0.25, 2.0};
  private static final double[] B2 = {3.0, 1.0, -2.0};
  private static final double[] B3 = {0.5, 0.7, 0.9, 1.1, -4.0};
  /** Sample std of B1 as torch computes it (golden ppo_step_gpt2_tiny.json, ppo/std_scores). */
  private static final double B1_STD = 1.0680004681646913;
  private static final double EPS = 0x1.0p-23;

  @Test
  void initialStateIsTrls() {
    RunningMoments r = RunningMoments.initial();
    assertEquals(0.0, r.mean(), 0.0);
    assertEquals(1.0, r.var(), 0.0);
    assertEquals(1.0, r.std(), 0.0);
    assertEquals(1e-24, r.count(), 0.0);
  }

  /** After any number of batches: the mean, biased variance and sample std of everything seen. */
  @Test
  void matchesTwoPassOverConcatenatedBatches() {
    RunningMoments r = RunningMoments.initial();
    double[] seen = {};
    for (double[] batch : new double[][] {B1, B2, B3}) {
      r = r.updated(MaskedMoments.twoPass(batch));
      seen = DoubleStream.concat(DoubleStream.of(seen), DoubleStream.of(batch)).toArray();
      double n = seen.length;
      double mean = DoubleStream.of(seen).sum() / n;
      double sq = DoubleStream.of(seen).map(x -> (x - mean) * (x - mean)).sum();
      assertEquals(mean, r.mean(), 1e-14);
      assertEquals(sq / n, r.var(), 1e-14);
      assertEquals(Math.sqrt(sq / (n - 1)), r.std(), 1e-14);
      assertEquals(n, r.count(), 1e-12);
    }
    RunningMoments first = RunningMoments.initial().updated(MaskedMoments.twoPass(B1));
    assertEquals(B1_STD, first.std(), 1e-15);
  }

  /** The batch moments all-reduced from two workers give the same running state. */
  @Test
  void shardedBatchGivesTheSameState() {
    RunningMoments start = RunningMoments.initial().updated(MaskedMoments.twoPass(B1));
    double[] left = {B3[0], B3[1]};
    double[] right = {B3[2], B3[3], B3[4]};
    double mean = MaskedMoments.of(left, 0.0).plus(MaskedMoments.of(right, 0.0)).mean();
    MaskedMoments global = MaskedMoments.of(left, mean).plus(MaskedMoments.of(right, mean));
    RunningMoments a = start.updated(global);
    RunningMoments b = start.updated(MaskedMoments.twoPass(B3));
    assertEquals(b.mean(), a.mean(), 1e-15);
    assertEquals(b.var(), a.var(), 1e-15);
    assertEquals(b.std(), a.std(), 1e-15);
  }

  @Test
  void normalisedScalingUsesTheUpdatedMoments() {
    ScoreTransform t = new ScoreTransform(true, true, OptionalDouble.empty(), EPS);
    ScoreTransform.Result r = t.apply(B1, RunningMoments.initial());
    double mean = 0.6875;
    for (int i = 0; i < B1.length; i++) {
      assertEquals((B1[i] - mean) / (B1_STD + EPS), r.scores()[i], 1e-14);
    }
    assertEquals(mean, r.moments().mean(), 1e-15);
  }

  @Test
  void scalingWithoutNormalisationThenClipping() {
    ScoreTransform t = new ScoreTransform(true, false, OptionalDouble.of(0.5), EPS);
    ScoreTransform.Result r = t.apply(B1, RunningMoments.initial());
    double[] expected = new double[B1.length];
    for (int i = 0; i < B1.length; i++) {
      expected[i] = Math.max(-0.5, Math.min(0.5, B1[i] / (B1_STD + EPS)));
    }
    assertArrayEquals(expected, r.scores(), 1e-14);
    assertEquals(0.5, r.scores()[3], 0.0); // 2 / 1.068 clipped
  }

  @Test
  void clippingAloneLeavesTheMomentsAlone() {
    RunningMoments before = RunningMoments.initial();
    ScoreTransform t = new ScoreTransform(false, false, OptionalDouble.of(2.0), EPS);
    ScoreTransform.Result r = t.apply(new double[] {-5.0, 0.5, 7.0, -2.0}, before);
    assertArrayEquals(new double[] {-2.0, 0.5, 2.0, -2.0}, r.scores(), 0.0);
    assertSame(before, r.moments());
    ScoreTransform none = ScoreTransform.from(PpoConfig.defaults());
    assertArrayEquals(B1, none.apply(B1, before).scores(), 0.0);
  }

  @Test
  void invalidTransformsAreRejected() {
    assertThrows(IllegalArgumentException.class, () -> new ScoreTransform(false, true, OptionalDouble.empty(), EPS));
    assertThrows(IllegalArgumentException.class, () -> new ScoreTransform(true, false, OptionalDouble.of(0.0), EPS));
  }
}
