package ai.cory.common.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.bytedeco.javacpp.Pointer;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Cached generation equals the full forward: for left-padded prompts of different lengths, the
 * logits of prefill and of every decode step match a fresh full forward of the whole
 * (padded) sequence at its last column within 1e-5 (FLOAT), for GPT-2 and Llama (GQA), with the
 * prompt processed in one chunk or in several. A long decode does not grow native memory.
 */
class KvCacheTest {
  private static final double TOL = 1e-5;

  static ModelConfig gpt2() {
    return new ModelConfig(ModelConfig.Arch.GPT2, 97, 32, 2, 4, 4, 64, 40, 1e-5, 0, true, 0, 0);
  }

  static ModelConfig llama() {
    return new ModelConfig(ModelConfig.Arch.LLAMA, 89, 32, 2, 4, 2, 48, 40, 1e-5, 10000.0, false,
        1, 2);
  }

  @Test
  void gpt2DecodeMatchesFullForward() {
    check(gpt2(), 1000, 5);
    check(gpt2(), 2, 6);
  }

  @Test
  void llamaDecodeMatchesFullForward() {
    check(llama(), 1000, 7);
    check(llama(), 3, 8);
  }

  private void check(ModelConfig cfg, int chunkCols, long seed) {
    CausalLm lm = CausalLm.random(cfg, DataType.FLOAT, seed);
    scaleWeights(lm, 0.15, seed);
    SplittableRandom rng = new SplittableRandom(seed);
    int[] lengths = {7, 3, 5};
    int p = 7;
    int steps = 6;
    int[][] tokens = new int[3][p + steps];
    int[][] mask = new int[3][p + steps];
    for (int b = 0; b < 3; b++) {
      for (int t = 0; t < p; t++) {
        boolean real = t >= p - lengths[b];
        tokens[b][t] = real ? rng.nextInt(cfg.vocabSize()) : 0;
        mask[b][t] = real ? 1 : 0;
      }
    }
    KvCache cache = new KvCache(cfg, DataType.FLOAT, 3, p + steps, chunkCols);
    Workspace ws = lm.newWorkspace(3, p + steps, false, true);
    INDArray logits = lm.prefill(cache, slice(tokens, p), slice(mask, p));
    double worst = compare(lm, ws, tokens, mask, p, logits);
    for (int s = 0; s < steps; s++) {
      int[] next = new int[3];
      for (int b = 0; b < 3; b++) {
        next[b] = rng.nextInt(cfg.vocabSize());
        tokens[b][p + s] = next[b];
        mask[b][p + s] = 1;
      }
      logits = lm.decode(cache, next);
      worst = Math.max(worst, compare(lm, ws, tokens, mask, p + s + 1, logits));
    }
    assertEquals(p + steps, cache.length());
    assertEquals(lengths[1] + steps, cache.nextPosition(1));
    System.out.printf("%s chunk %d: max |cached - full| logits %.2e%n", cfg.arch(), chunkCols,
        worst);
  }

  /** Max |diff| between cached logits (B, V) and the full forward's last column. */
  private static double compare(CausalLm lm, Workspace ws, int[][] tokens, int[][] mask, int t,
      INDArray cached) {
    ForwardResult full = lm.forward(ws, TokenBatch.of(slice(tokens, t), slice(mask, t)),
        new ForwardOptions(t - 1, t, ForwardOptions.Vocab.LOGITS, false, false));
    double worst = 0;
    for (int b = 0; b < cached.size(0); b++) {
      for (int v = 0; v < cached.size(1); v++) {
        double diff = Math.abs(cached.getDouble(b, v) - full.vocab().getDouble(b, v));
        assertTrue(diff <= TOL, "row " + b + " token " + v + " at length " + t + ": |diff| "
            + diff);
        worst = Math.max(worst, diff);
      }
    }
    return worst;
  }

  @Test
  void longDecodeDoesNotGrowMemory() {
    // 8 rows x 10000-token vocabulary: a per-step copy of the (B, V) logits would add 320 KB per
    // step, ~380 MB between the two windows compared below. Resident memory otherwise moves by
    // up to ~130 MB during the first steps (allocator arenas of OpenBLAS's work buffers) and
    // then only fluctuates, so the peaks of two late windows are compared.
    int steps = 2500;
    ModelConfig cfg = new ModelConfig(ModelConfig.Arch.GPT2, 10000, 32, 2, 4, 4, 64, steps + 8,
        1e-5, 0, true, 0, 0);
    CausalLm lm = CausalLm.random(cfg, DataType.FLOAT, 3);
    int rows = 8;
    KvCache cache = lm.newKvCache(rows, steps + 4);
    int[][] prompt = new int[rows][3];
    for (int b = 0; b < rows; b++) {
      prompt[b] = new int[] {b, b + 1, b + 2};
    }
    lm.prefill(cache, prompt, null);
    int[] next = new int[rows];
    long earlyPeak = 0;
    long latePeak = 0;
    for (int s = 0; s < steps - 1; s++) {
      greedy(lm.decode(cache, next), next);
      if (s % 20 == 0 && s >= 1000 && s < 1300) {
        earlyPeak = Math.max(earlyPeak, Pointer.physicalBytes());
      } else if (s % 20 == 0 && s >= 2200) {
        latePeak = Math.max(latePeak, Pointer.physicalBytes());
      }
    }
    long growth = latePeak - earlyPeak;
    assertTrue(growth < 150L << 20, "resident memory peak grew by " + (growth >> 20) + " MiB");
    assertEquals(steps + 2, cache.length());
    System.out.printf("%d-step decode: resident peak change %d MiB%n", steps, growth >> 20);
  }

  /** next[b] = argmax of row b, read through the NIO buffer (no ND4J object is created). */
  private static void greedy(INDArray logits, int[] next) {
    java.nio.FloatBuffer buf = logits.data().asNioFloat();
    int vocab = (int) logits.size(1);
    int base = (int) logits.offset();
    for (int b = 0; b < next.length; b++) {
      int best = 0;
      for (int v = 1; v < vocab; v++) {
        if (buf.get(base + b * vocab + v) > buf.get(base + b * vocab + best)) {
          best = v;
        }
      }
      next[b] = best;
    }
  }

  private static void scaleWeights(CausalLm lm, double std, long seed) {
    Span all = lm.params().span();
    SplittableRandom rng = new SplittableRandom(seed);
    for (long i = 0; i < all.length; i++) {
      all.set(i, all.get(i) + std * rng.nextGaussian());
    }
  }

  private static int[][] slice(int[][] a, int t) {
    int[][] out = new int[a.length][];
    for (int i = 0; i < a.length; i++) {
      out[i] = java.util.Arrays.copyOf(a[i], t);
    }
    return out;
  }
}
