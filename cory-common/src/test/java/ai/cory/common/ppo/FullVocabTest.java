package ai.cory.common.ppo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * The exact KL and the entropy on distributions with closed forms, and the per-token
 * estimators. (The golden PPO file holds the 'full' KL per column but not the vocabulary rows;
 * the engine's tests check these functions on real model rows.)
 */
final class FullVocabTest {
  private static final double LN2 = Math.log(2);
  // p = (1/2, 1/4, 1/4), q = (1/4, 1/2, 1/4): KL(p||q) = 1/2 ln 2 + 1/4 ln(1/2) = ln 2 / 4; H(p) = 3/2 ln 2
  private static final double[] P = {Math.log(0.5), Math.log(0.25), Math.log(0.25)};
  private static final double[] Q = {Math.log(0.25), Math.log(0.5), Math.log(0.25)};

  @Test
  void klAndEntropyOfSmallDistributions() {
    assertEquals(LN2 / 4, FullVocab.kl(P, Q), 1e-16);
    // KL(q||p) = 1/4 ln(1/2) + 1/2 ln 2 = ln 2 / 4 as well; and KL(p||p) = 0 exactly
    assertEquals(LN2 / 4, FullVocab.kl(Q, P), 1e-16);
    assertEquals(0.0, FullVocab.kl(P, P), 0.0);
    assertEquals(1.5 * LN2, FullVocab.entropy(P), 1e-15);
    float[] pf = toFloat(P);
    float[] qf = toFloat(Q);
    assertEquals(LN2 / 4, FullVocab.kl(pf, qf), 1e-7);
    assertEquals(1.5 * LN2, FullVocab.entropy(pf), 1e-7);
  }

  /** The uniform distribution over V: entropy ln V; KL of a point mass to it: ln V. */
  @Test
  void uniformAndPointMass() {
    int vocab = 50257;
    double[] uniform = new double[vocab];
    java.util.Arrays.fill(uniform, -Math.log(vocab));
    assertEquals(Math.log(vocab), FullVocab.entropy(uniform), 1e-10);
    double[] point = new double[vocab];
    java.util.Arrays.fill(point, Double.NEGATIVE_INFINITY);
    point[17] = 0.0;
    // zero-probability terms contribute their limit 0, not NaN
    assertEquals(Math.log(vocab), FullVocab.kl(point, uniform), 1e-12);
    assertEquals(0.0, FullVocab.entropy(point), 0.0);
  }

  @Test
  void rowsOfAnNd4jBlock() {
    INDArray lp = Nd4j.create(new double[][] {P, Q}).castTo(DataType.FLOAT); // (N, V)
    INDArray ref = Nd4j.create(new double[][] {Q, Q}).castTo(DataType.FLOAT);
    assertArrayEquals(new double[] {LN2 / 4, 0.0}, FullVocab.klRows(lp, ref), 1e-7);
    assertArrayEquals(new double[] {1.5 * LN2, 1.5 * LN2}, FullVocab.entropyRows(lp), 1e-7);
    // a view with an offset into a larger buffer (how the engine slices one column of a batch)
    INDArray big = Nd4j.create(new double[][] {Q, P, Q, P}); // (4, V)
    INDArray rows = big.get(NDArrayIndex.interval(1, 3), NDArrayIndex.all()); // rows P, Q
    INDArray refRows = big.get(NDArrayIndex.interval(2, 4), NDArrayIndex.all()); // rows Q, P
    assertArrayEquals(new double[] {LN2 / 4, LN2 / 4}, FullVocab.klRows(rows, refRows), 1e-15);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> FullVocab.klRows(lp, Nd4j.zeros(DataType.FLOAT, 2, 4)));
    assertTrue(e.getMessage().contains("[2, 3]") && e.getMessage().contains("[2, 4]"), e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> FullVocab.kl(P, new double[2]));
  }

  @Test
  void perTokenEstimators() {
    assertEquals(0.5, KlPenalty.KL.perToken(-1.0, -1.5), 0.0);
    assertEquals(0.5, KlPenalty.ABS.perToken(-1.0, -1.5), 0.0);
    assertEquals(0.125, KlPenalty.MSE.perToken(-1.0, -1.5), 0.0);
    assertEquals(-1.0, KlPenalty.KL.perToken(-2.0, -1.0), 0.0);
    assertEquals(1.0, KlPenalty.ABS.perToken(-2.0, -1.0), 0.0);
    assertEquals(0.5, KlPenalty.MSE.perToken(-2.0, -1.0), 0.0);
    double[][] grid = KlPenalty.MSE.perToken(new double[][] {{-1.0, -2.0}}, new double[][] {{-1.5, -1.0}});
    assertArrayEquals(new double[] {0.125, 0.5}, grid[0], 0.0);
    assertThrows(UnsupportedOperationException.class, () -> KlPenalty.FULL.perToken(-1.0, -1.0));
    assertEquals(KlPenalty.FULL, KlPenalty.fromTrlName("FULL"));
    assertEquals("mse", KlPenalty.MSE.trlName());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> KlPenalty.fromTrlName("k3"));
    assertTrue(e.getMessage().contains("k3"), e.getMessage());
  }

  private static float[] toFloat(double[] d) {
    float[] f = new float[d.length];
    for (int i = 0; i < d.length; i++) {
      f[i] = (float) d[i];
    }
    return f;
  }
}
