package ai.cory.common.model;

import org.nd4j.linalg.api.buffer.DataType;

/** Throwaway: time of one decode step's pieces at GPT-2-small shape, B=64, 40 cached slots. */
public final class DecodeBench {
  public static void main(String[] args) {
    ModelConfig cfg = ModelConfig.gpt2Small();
    CausalLm lm = CausalLm.random(cfg, DataType.FLOAT, 1);
    KvCache cache = lm.newKvCache(64, 48);
    int[][] prompt = EngineBench.randomIds(new java.util.SplittableRandom(1), 64, 8, 50257);
    int[] next = new int[64];
    for (int rep = 0; rep < 3; rep++) {
      lm.prefill(cache, prompt, null);
      long t0 = System.nanoTime();
      for (int s = 0; s < 32; s++) {
        lm.decode(cache, next);
      }
      System.out.printf("32 decode steps: %.3f s (%.1f ms/step)%n", (System.nanoTime() - t0) / 1e9,
          (System.nanoTime() - t0) / 1e6 / 32);
    }
    System.out.printf("gemm probe %.1f%n", EngineBench.gemmProbe());
    System.exit(0);
  }
}
