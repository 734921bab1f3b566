package ai.cory.common.sampling;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/** The batched INDArray path: frequencies, reproducibility under sharding, layouts, masks. */
class SamplerBatchTest {
  private static final long SEED = 20241014L;

  /** Pearson chi-square of observed counts against probabilities (cells with p > 0). */
  private static double chiSquare(long[] counts, double[] probs, long n) {
    double chi = 0;
    for (int i = 0; i < probs.length; i++) {
      if (probs[i] > 0) {
        double expected = n * probs[i];
        chi += (counts[i] - expected) * (counts[i] - expected) / expected;
      } else {
        assertEquals(0, counts[i], "token " + i + " has probability 0 but was drawn");
      }
    }
    return chi;
  }

  /** Draws rows x steps tokens with every row holding the same logits and no history. */
  private static long[] drawCounts(SamplingParams p, double[] logitsRow, int rows, int steps, int[] history) {
    int vocab = logitsRow.length;
    INDArray logits = Nd4j.create(DataType.FLOAT, rows, vocab); // (B, V)
    for (int b = 0; b < rows; b++) {
      for (int v = 0; v < vocab; v++) {
        logits.putScalar(b, v, logitsRow[v]);
      }
    }
    int[][] tokens = new int[rows][];
    int[] lengths = new int[rows];
    for (int b = 0; b < rows; b++) {
      tokens[b] = history;
      lengths[b] = history.length;
    }
    SamplingBatch batch = SamplingBatch.contiguous(SEED, 0, rows, TokenHistory.of(tokens, lengths));
    LogitsSampler sampler = new LogitsSampler(p, vocab);
    long[] counts = new long[vocab];
    int[] out = new int[rows];
    for (int t = 0; t < steps; t++) {
      sampler.sample(logits, batch, t, out);
      for (int id : out) {
        counts[id]++;
      }
    }
    return counts;
  }

  @Test
  void frequenciesMatchAKnownDistribution() {
    double[] p = {0.1, 0.2, 0.3, 0.15, 0.25};
    double[] logits = new double[p.length];
    for (int i = 0; i < p.length; i++) {
      logits[i] = Math.log(p[i]);
    }
    int rows = 500;
    int steps = 40; // 20,000 draws
    long[] counts = drawCounts(SamplingParams.defaults(), logits, rows, steps, new int[0]);
    double chi = chiSquare(counts, p, (long) rows * steps);
    // 4 degrees of freedom: P(chi2 > 18.47) = 0.001. Deterministic given the seed.
    assertTrue(chi < 18.47, "chi-square " + chi + " counts " + java.util.Arrays.toString(counts));
  }

  @Test
  void frequenciesMatchTheProcessedDistributionWithEveryProcessorOn() {
    double[] logits = {0.3, 1.2, -0.4, 2.0, 0.9, -1.5, 1.7, 0.0};
    int[] history = {3, 3, 5, 6};
    SamplingParams params = new SamplingParams(false, 0.8, 6, 0.9, 1.3);
    double[] expected = HfReference.probabilities(logits, history, params);
    long[] counts = drawCounts(params, logits, 400, 50, history); // 20,000 draws
    int cells = 0;
    for (double e : expected) {
      cells += e > 0 ? 1 : 0;
    }
    assertTrue(cells >= 3 && cells < logits.length, "the filters must remove some tokens: " + cells);
    double chi = chiSquare(counts, expected, 20_000);
    // cells - 1 degrees of freedom (<= 5): P(chi2_5 > 20.5) = 0.001.
    assertTrue(chi < 20.5, "chi-square " + chi + " over " + cells + " cells");
  }

  @Test
  void drawsDependOnlyOnSeedGlobalRowAndStep() {
    int rows = 8;
    int vocab = 300;
    Random random = new Random(3);
    double[][] logitRows = new double[rows][vocab];
    int[][] histories = new int[rows][];
    for (int b = 0; b < rows; b++) {
      for (int v = 0; v < vocab; v++) {
        logitRows[b][v] = random.nextGaussian();
      }
      histories[b] = new int[] {random.nextInt(vocab), random.nextInt(vocab)};
    }
    SamplingParams params = new SamplingParams(false, 1.0, 0, 0.95, 1.1);
    int steps = 6;
    int[][] full = run(params, logitRows, histories, new int[] {0, 1, 2, 3, 4, 5, 6, 7}, steps);
    int[][] shardA = run(params, logitRows, histories, new int[] {5, 1, 7}, steps);
    int[][] shardB = run(params, logitRows, histories, new int[] {6, 0, 4, 2, 3}, steps);
    int[][] alone = run(params, logitRows, histories, new int[] {4}, steps);
    for (int t = 0; t < steps; t++) {
      assertEquals(full[t][5], shardA[t][0]);
      assertEquals(full[t][1], shardA[t][1]);
      assertEquals(full[t][7], shardA[t][2]);
      assertEquals(full[t][6], shardB[t][0]);
      assertEquals(full[t][0], shardB[t][1]);
      assertEquals(full[t][4], shardB[t][2]);
      assertEquals(full[t][2], shardB[t][3]);
      assertEquals(full[t][3], shardB[t][4]);
      assertEquals(full[t][4], alone[t][0]);
    }
    // A different seed changes the draws somewhere (300 tokens, 48 draws).
    int[][] reseeded = run(params, logitRows, histories, new int[] {0, 1, 2, 3, 4, 5, 6, 7}, steps, SEED + 1);
    boolean differs = false;
    for (int t = 0; t < steps; t++) {
      differs |= !java.util.Arrays.equals(full[t], reseeded[t]);
    }
    assertTrue(differs);
  }

  private static int[][] run(SamplingParams p, double[][] logitRows, int[][] histories, int[] globalRows, int steps) {
    return run(p, logitRows, histories, globalRows, steps, SEED);
  }

  /** Generates `steps` tokens for the listed global rows as one batch (appending to history). */
  private static int[][] run(
      SamplingParams p, double[][] logitRows, int[][] histories, int[] globalRows, int steps, long seed) {
    int rows = globalRows.length;
    int vocab = logitRows[0].length;
    INDArray logits = Nd4j.create(DataType.DOUBLE, rows, vocab); // (B, V)
    long[] global = new long[rows];
    boolean[] active = new boolean[rows];
    int[][] tokens = new int[rows][histories[0].length + steps];
    int[] lengths = new int[rows];
    for (int b = 0; b < rows; b++) {
      int g = globalRows[b];
      logits.putRow(b, Nd4j.createFromArray(logitRows[g]));
      global[b] = g;
      active[b] = true;
      System.arraycopy(histories[g], 0, tokens[b], 0, histories[g].length);
      lengths[b] = histories[g].length;
    }
    SamplingBatch batch = new SamplingBatch(seed, global, active, TokenHistory.of(tokens, lengths));
    LogitsSampler sampler = new LogitsSampler(p, vocab);
    int[][] chosen = new int[steps][rows];
    for (int t = 0; t < steps; t++) {
      sampler.sample(logits, batch, t, chosen[t]);
      for (int b = 0; b < rows; b++) {
        tokens[b][lengths[b]++] = chosen[t][b];
      }
    }
    return chosen;
  }

  @Test
  void floatDoubleAndStridedLayoutsGiveTheSameTokens() {
    int rows = 4;
    int vocab = 257;
    INDArray base = Nd4j.rand(DataType.FLOAT, rows, vocab).muli(6).subi(3); // (B, V)
    SamplingParams params = new SamplingParams(false, 0.9, 40, 0.95, 1.2);
    int[][] tokens = {{1, 2}, {3}, {}, {255, 256, 0}};
    TokenHistory history = TokenHistory.of(tokens, new int[] {2, 1, 0, 3});
    SamplingBatch batch = SamplingBatch.contiguous(SEED, 100, rows, history);
    LogitsSampler sampler = new LogitsSampler(params, vocab);
    int[] expected = sampler.sample(base, batch, 3, new int[rows]);

    assertArrayEquals(expected, sampler.sample(base.castTo(DataType.DOUBLE), batch, 3, new int[rows]));
    assertArrayEquals(expected, sampler.sample(base.dup('f'), batch, 3, new int[rows]));
    // The last position of a (B, T, V) tensor, as the generation loop may hand it over.
    INDArray sequence = Nd4j.rand(DataType.FLOAT, rows, 5, vocab); // (B, T, V)
    sequence.get(NDArrayIndex.all(), NDArrayIndex.point(4), NDArrayIndex.all()).assign(base);
    INDArray lastPosition = sequence.get(NDArrayIndex.all(), NDArrayIndex.point(4), NDArrayIndex.all());
    assertArrayEquals(expected, sampler.sample(lastPosition, batch, 3, new int[rows]));
    // Each row against the row-level API with the same uniform.
    for (int b = 0; b < rows; b++) {
      double[] row = base.getRow(b).castTo(DataType.DOUBLE).toDoubleVector();
      int[] h = java.util.Arrays.copyOf(tokens[b], history.length(b));
      assertEquals(expected[b], sampler.sampleRow(row, h, CounterRng.uniform(SEED, 100 + b, 3)));
    }
  }

  @Test
  void parallelSamplerGivesTheSameTokensForAnyThreadCount() {
    int rows = 7;
    int vocab = 500;
    INDArray logits = Nd4j.randn(DataType.FLOAT, rows, vocab).muli(2); // (B, V)
    int[][] tokens = new int[rows][];
    int[] lengths = new int[rows];
    for (int b = 0; b < rows; b++) {
      tokens[b] = new int[] {b, 2 * b, 3 * b};
      lengths[b] = 3;
    }
    SamplingBatch batch = SamplingBatch.contiguous(SEED, 40, rows, TokenHistory.of(tokens, lengths));
    batch.active()[2] = false;
    SamplingParams params = new SamplingParams(false, 1.0, 0, 0.9, 1.1);
    for (int step = 0; step < 3; step++) {
      int[] expected = new LogitsSampler(params, vocab).sample(logits, batch, step, new int[rows]);
      for (int threads : new int[] {1, 2, 3, 16}) {
        try (ParallelSampler parallel = new ParallelSampler(params, vocab, threads)) {
          assertArrayEquals(expected, parallel.sample(logits, batch, step, new int[rows]), threads + " threads");
        }
      }
    }
    logits.putScalar(6, 3, Double.NaN);
    try (ParallelSampler parallel = new ParallelSampler(params, vocab, 3)) {
      IllegalStateException e = assertThrows(IllegalStateException.class,
          () -> parallel.sample(logits, batch, 0, new int[rows]));
      assertTrue(e.getMessage().contains("row 6"), e.getMessage());
    }
  }

  @Test
  void inactiveRowsAreLeftAlone() {
    int vocab = 10;
    INDArray logits = Nd4j.zeros(DataType.FLOAT, 3, vocab); // (B, V)
    logits.putScalar(1, 1, Double.NaN); // would fail if row 1 were read
    SamplingBatch batch = new SamplingBatch(
        SEED, new long[] {0, 1, 2}, new boolean[] {true, false, true}, TokenHistory.empty());
    int[] out = {-7, -7, -7};
    new LogitsSampler(SamplingParams.defaults(), vocab).sample(logits, batch, 0, out);
    assertEquals(-7, out[1]);
    assertTrue(out[0] >= 0 && out[2] >= 0);
    assertNotEquals(-7, out[0]);
  }

  @Test
  void shapeMismatchIsReported() {
    LogitsSampler sampler = new LogitsSampler(SamplingParams.defaults(), 10);
    SamplingBatch batch = SamplingBatch.contiguous(SEED, 0, 2, TokenHistory.empty());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> sampler.sample(Nd4j.zeros(DataType.FLOAT, 2, 11), batch, 0, new int[2]));
    assertTrue(e.getMessage().contains("(2, 10)") && e.getMessage().contains("[2, 11]"), e.getMessage());
    assertThrows(IllegalArgumentException.class,
        () -> sampler.sample(Nd4j.zeros(DataType.INT32, 2, 10), batch, 0, new int[2]));
    IllegalStateException nan = assertThrows(IllegalStateException.class, () -> sampler.sample(
        Nd4j.zeros(DataType.FLOAT, 2, 10).putScalar(1, 4, Double.NaN), batch, 7, new int[2]));
    assertTrue(nan.getMessage().contains("row 1 at step 7"), nan.getMessage());
  }
}
