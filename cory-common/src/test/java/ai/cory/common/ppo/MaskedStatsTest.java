package ai.cory.common.ppo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** Masked mean / variance / whitening on hand-computed cases, and the sufficient-statistics protocol. */
final class MaskedStatsTest {
  // masked-in entries 1, 3, 5, 7 (holes inside rows): mean 4, squared deviations 9 + 1 + 1 + 9 = 20
  private static final double[][] X = {{1, 100, 3}, {5, 7, -50}};
  private static final double[][] MASK = {{1, 0, 1}, {1, 1, 0}};

  @Test
  void meanAndVarianceWithHoles() {
    assertEquals(4.0, MaskedStats.mean(X, MASK), 0.0);
    assertEquals(5.0, MaskedStats.variance(X, MASK, false), 1e-15);
    MaskedMoments m = MaskedMoments.twoPass(X, MASK);
    assertEquals(20.0 / 3.0, m.variance(true), 1e-14);
    // TRL: Bessel factor 4/3 computed in float32 (integer mask), times the double variance
    assertEquals(5.0 * (double) (4f / 3f), m.trlMaskedVariance(), 0.0);
    assertEquals(5.0 * (double) (4f / 3f), MaskedStats.variance(X, MASK, true), 0.0);
    assertEquals(20.0 / 3.0, MaskedStats.variance(X, MASK, true), 1e-6);
    assertArrayEquals(new double[] {4.0, 12.0}, MaskedStats.rowSums(X, MASK), 0.0);
  }

  @Test
  void whitenAppliesToEveryEntry() {
    double invStd = 1.0 / Math.sqrt(5.0 * (double) (4f / 3f) + 1e-8);
    double[][] w = MaskedStats.whiten(X, MASK, true);
    double[][] keepMean = MaskedStats.whiten(X, MASK, false);
    for (int j = 0; j < X.length; j++) {
      for (int t = 0; t < X[j].length; t++) {
        assertEquals((X[j][t] - 4.0) * invStd, w[j][t], 1e-14);
        assertEquals((X[j][t] - 4.0) * invStd + 4.0, keepMean[j][t], 1e-14);
      }
    }
    assertEquals(0.0, MaskedStats.mean(w, MASK), 1e-15);
  }

  @Test
  void degenerateMasksFailClearly() {
    double[][] none = {{0, 0, 0}, {0, 0, 0}};
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> MaskedStats.mean(X, none));
    assertTrue(e.getMessage().contains("no masked-in entries"), e.getMessage());
    double[][] one = {{0, 1, 0}, {0, 0, 0}};
    assertEquals(0.0, MaskedStats.variance(X, one, false), 0.0);
    assertThrows(IllegalStateException.class, () -> MaskedStats.variance(X, one, true));
    assertThrows(IllegalStateException.class, () -> MaskedStats.whiten(X, one, true));
    IllegalArgumentException bad = assertThrows(IllegalArgumentException.class,
        () -> MaskedStats.mean(X, new double[][] {{1, 0}, {1, 1}}));
    assertTrue(bad.getMessage().contains("(2, 2)") && bad.getMessage().contains("(2, 3)"), bad.getMessage());
  }

  @Test
  void maskedOutNonFiniteValuesAreIgnored() {
    double[][] x = {{1, Double.NaN, 3}, {5, 7, Double.POSITIVE_INFINITY}};
    assertEquals(4.0, MaskedStats.mean(x, MASK), 0.0);
    assertEquals(5.0, MaskedStats.variance(x, MASK, false), 1e-15);
  }

  /** W workers all-reducing their moments get the whole batch's mean, variance and whitening. */
  @Test
  void shardMomentsCombineToTheWholeBatch() {
    Random rng = new Random(7);
    double[][] x = new double[6][9];
    double[][] mask = new double[6][9];
    for (int j = 0; j < 6; j++) {
      for (int t = 0; t < 9; t++) {
        x[j][t] = 3 + 2 * rng.nextGaussian();
        mask[j][t] = rng.nextDouble() < 0.6 ? 1 : 0;
      }
    }
    int[][] shards = {{0, 1}, {2, 3, 4}, {5}};
    MaskedMoments whole = MaskedMoments.twoPass(x, mask);

    double[] round1 = new double[MaskedMoments.ARRAY_LENGTH]; // what an all-reduce SUM would produce
    for (int[] rows : shards) {
      addInto(round1, MaskedMoments.of(rows(x, rows), rows(mask, rows)).toArray());
    }
    double globalMean = MaskedMoments.fromArray(0.0, round1).mean();
    double[] round2 = new double[MaskedMoments.ARRAY_LENGTH];
    for (int[] rows : shards) {
      addInto(round2, MaskedMoments.of(rows(x, rows), rows(mask, rows), globalMean).toArray());
    }
    MaskedMoments global = MaskedMoments.fromArray(globalMean, round2);
    assertEquals(whole.count(), global.count(), 0.0);
    assertEquals(whole.mean(), global.mean(), 1e-14);
    assertEquals(whole.variance(true), global.variance(true), 1e-14);
    assertEquals(whole.trlMaskedVariance(), global.trlMaskedVariance(), 1e-14);
    double[][] wholeWhitened = MaskedStats.whiten(x, mask, true);
    int row = 0;
    for (int[] rows : shards) {
      double[][] part = MaskedStats.whiten(rows(x, rows), global, true);
      for (double[] r : part) {
        assertArrayEquals(wholeWhitened[row++], r, 1e-13);
      }
    }
    // one round about 0 is exact in real arithmetic too
    MaskedMoments single = MaskedMoments.empty(0.0);
    for (int[] rows : shards) {
      single = single.plus(MaskedMoments.of(rows(x, rows), rows(mask, rows)));
    }
    assertEquals(whole.variance(false), single.variance(false), 1e-12);
  }

  /** The two-round protocol run by three worker threads over an in-process SUM all-reduce. */
  @Test
  void allReducedOnThreeThreadsEqualsTheWholeBatch() throws Exception {
    Random rng = new Random(11);
    double[][] x = new double[6][5];
    double[][] mask = new double[6][5];
    for (int j = 0; j < 6; j++) {
      for (int t = 0; t < 5; t++) {
        x[j][t] = 1e3 + rng.nextGaussian(); // large mean: the second round matters
        mask[j][t] = rng.nextDouble() < 0.7 ? 1 : 0;
      }
    }
    int[][] shards = {{0, 1}, {2, 3}, {4, 5}};
    SumAllReduce allReduce = new SumAllReduce(shards.length);
    MaskedMoments[] results = new MaskedMoments[shards.length];
    Thread[] workers = new Thread[shards.length];
    for (int w = 0; w < shards.length; w++) {
      int rank = w;
      workers[w] = new Thread(() -> results[rank] = MaskedMoments.allReduced(rows(x, shards[rank]),
          rows(mask, shards[rank]), allReduce::sum));
      workers[w].start();
    }
    for (Thread t : workers) {
      t.join(10_000);
    }
    MaskedMoments whole = MaskedMoments.twoPass(x, mask);
    assertEquals(whole, MaskedMoments.allReduced(x, mask, java.util.function.UnaryOperator.identity()));
    for (MaskedMoments r : results) {
      assertEquals(whole.mean(), r.mean(), 1e-12);
      assertEquals(whole.trlMaskedVariance(), r.trlMaskedVariance(), 1e-12);
      assertEquals(results[0], r); // bit-identical on every worker
    }
  }

  /** Element-wise SUM across N threads: every thread blocks until all contributed. */
  private static final class SumAllReduce {
    private final java.util.concurrent.CyclicBarrier contributed;
    private final java.util.concurrent.CyclicBarrier read;
    private double[] acc;

    SumAllReduce(int parties) {
      contributed = new java.util.concurrent.CyclicBarrier(parties);
      read = new java.util.concurrent.CyclicBarrier(parties, () -> acc = null);
    }

    double[] sum(double[] part) {
      try {
        synchronized (this) {
          if (acc == null) {
            acc = new double[part.length];
          }
          for (int i = 0; i < part.length; i++) {
            acc[i] += part[i];
          }
        }
        contributed.await(10, java.util.concurrent.TimeUnit.SECONDS);
        double[] out;
        synchronized (this) {
          out = acc.clone();
        }
        read.await(10, java.util.concurrent.TimeUnit.SECONDS);
        return out;
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    }
  }

  @Test
  void momentsAboutDifferentShiftsDoNotAdd() {
    assertThrows(IllegalArgumentException.class, () -> MaskedMoments.empty(0.0).plus(MaskedMoments.empty(1.0)));
    assertThrows(IllegalArgumentException.class, () -> MaskedMoments.fromArray(0.0, new double[2]));
  }

  static double[][] rows(double[][] grid, int[] r) {
    double[][] out = new double[r.length][];
    for (int i = 0; i < r.length; i++) {
      out[i] = grid[r[i]].clone();
    }
    return out;
  }

  private static void addInto(double[] acc, double[] part) {
    for (int i = 0; i < acc.length; i++) {
      acc[i] += part[i];
    }
  }
}
