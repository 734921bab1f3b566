package ai.cory.common.model;

import java.util.Arrays;
import java.util.SplittableRandom;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Throwaway measurement main (not a test): the three workloads of torch_peer.py on a
 * GPT-2-small-shaped model with random FLOAT weights. Usage:
 * {@code java -cp ... ai.cory.common.model.EngineBench [train|score|generate|all] [repeats]}.
 * Effective GFLOP/s use the peer's counts: flop_params = 85,056,000 for GPT-2 small.
 */
public final class EngineBench {
  private EngineBench() {}

  public static void main(String[] args) {
    String which = args.length > 0 ? args[0] : "all";
    int repeats = args.length > 1 ? Integer.parseInt(args[1]) : 3;
    ModelConfig cfg = ModelConfig.gpt2Small();
    long t0 = System.nanoTime();
    CausalLm lm = CausalLm.random(cfg, DataType.FLOAT, 1);
    System.out.printf("init %.1f s, threads %d%n", (System.nanoTime() - t0) / 1e9,
        Parallel.threads());
    double flopParams = 85_056_000.0;
    System.out.printf("gemm probe %.1f GFLOP/s%n", gemmProbe());
    if (which.equals("all") || which.equals("train")) {
      double s = train(lm, 8, 128, repeats);
      System.out.printf("train B8 T128: %.3f s, eff %.1f GFLOP/s%n", s,
          6 * flopParams * 1024 / s / 1e9);
    }
    if (which.equals("all") || which.equals("score")) {
      double s = score(lm, 8, 128, repeats);
      System.out.printf("score B8 T128: %.3f s, eff %.1f GFLOP/s%n", s,
          2 * flopParams * 1024 / s / 1e9);
    }
    if (which.equals("all") || which.equals("generate")) {
      double s = generate(lm, 64, 8, 32, repeats);
      System.out.printf("generate B64 P8 N32: %.3f s, eff %.1f GFLOP/s, %.0f tokens/s%n", s,
          2 * flopParams * 64 * (8 + 32 - 1) / s / 1e9, 64 * 32 / s);
    }
    System.out.printf("gemm probe %.1f GFLOP/s%n", gemmProbe());
    System.exit(0);
  }

  static double gemmProbe() {
    Span a = Span.of(Nd4j.rand(DataType.FLOAT, 512 * 768));
    Span b = Span.of(Nd4j.rand(DataType.FLOAT, 768 * 768));
    Span c = Span.of(Nd4j.create(DataType.FLOAT, 512 * 768));
    for (int i = 0; i < 5; i++) {
      Blas.gemm(false, true, 512, 768, 768, 1, a, 0, 768, b, 0, 768, 0, c, 0, 768);
    }
    long t0 = System.nanoTime();
    int n = 0;
    while (System.nanoTime() - t0 < 500_000_000L) {
      Blas.gemm(false, true, 512, 768, 768, 1, a, 0, 768, b, 0, 768, 0, c, 0, 768);
      n++;
    }
    return 2.0 * 512 * 768 * 768 * n / ((System.nanoTime() - t0) / 1e9) / 1e9;
  }

  static double train(CausalLm lm, int bsz, int t, int repeats) {
    SplittableRandom rng = new SplittableRandom(7);
    TokenBatch batch = TokenBatch.of(randomIds(rng, bsz, t, lm.config().vocabSize()));
    Workspace ws = lm.newWorkspace(bsz, t, true, false);
    INDArray dLogp = Nd4j.randn(DataType.FLOAT, bsz, t - 1).divi(bsz * (t - 1));
    INDArray dValues = Nd4j.randn(DataType.FLOAT, bsz, t).divi(bsz * t);
    double[] times = new double[repeats];
    for (int i = -1; i < repeats; i++) {
      lm.zeroGrad();
      long c0 = cpuNs();
      long t0 = System.nanoTime();
      lm.forward(ws, batch, ForwardOptions.logprobsAndValues(0, t));
      long t1 = System.nanoTime();
      long c1 = cpuNs();
      lm.backward(ws, dLogp, null, dValues);
      long t2 = System.nanoTime();
      long c2 = cpuNs();
      if (i >= 0) {
        times[i] = (t2 - t0) / 1e9;
        System.out.printf("  train: forward %.3f s (cpu %.3f), backward %.3f s (cpu %.3f)%n",
            (t1 - t0) / 1e9, (c1 - c0) / 1e9, (t2 - t1) / 1e9, (c2 - c1) / 1e9);
      }
    }
    return median(times);
  }

  static double score(CausalLm lm, int bsz, int t, int repeats) {
    SplittableRandom rng = new SplittableRandom(8);
    TokenBatch batch = TokenBatch.of(randomIds(rng, bsz, t, lm.config().vocabSize()));
    Workspace ws = lm.newWorkspace(bsz, t, Boolean.getBoolean("bench.trainWs"), false);
    double[] times = new double[repeats];
    for (int i = -1; i < repeats; i++) {
      long c0 = cpuNs();
      long t0 = System.nanoTime();
      lm.forward(ws, batch, ForwardOptions.logprobs(0, t));
      if (i >= 0) {
        times[i] = (System.nanoTime() - t0) / 1e9;
        System.out.printf("  score: %.3f s (cpu %.3f)%n", times[i], (cpuNs() - c0) / 1e9);
      }
    }
    return median(times);
  }

  static double generate(CausalLm lm, int bsz, int prompt, int steps, int repeats) {
    SplittableRandom rng = new SplittableRandom(9);
    int[][] ids = randomIds(rng, bsz, prompt, lm.config().vocabSize());
    KvCache cache = lm.newKvCache(bsz, prompt + steps);
    int vocab = lm.config().vocabSize();
    double[] times = new double[repeats];
    double[] probs = new double[vocab];
    double[] logitRow = new double[vocab];
    int[] next = new int[bsz];
    for (int i = -1; i < repeats; i++) {
      long t0 = System.nanoTime();
      long decodeNs = 0;
      INDArray logits = lm.prefill(cache, ids, null);
      for (int s = 0; s < steps; s++) {
        // temperature-1 sampling by inverse CDF (one uniform per row)
        java.nio.FloatBuffer buf = logits.data().asNioFloat();
        int base = (int) logits.offset();
        for (int b = 0; b < bsz; b++) {
          for (int v = 0; v < vocab; v++) {
            logitRow[v] = buf.get(base + b * vocab + v);
          }
          double max = VecMath.max(logitRow, 0, vocab);
          double sum = VecMath.expShift(logitRow, 0, probs, 0, vocab, max);
          double u = rng.nextDouble() * sum;
          int v = 0;
          while (v < vocab - 1 && (u -= probs[v]) > 0) {
            v++;
          }
          next[b] = v;
        }
        if (s + 1 < steps) {
          long d0 = System.nanoTime();
          logits = lm.decode(cache, next);
          decodeNs += System.nanoTime() - d0;
        }
      }
      if (i >= 0) {
        times[i] = (System.nanoTime() - t0) / 1e9;
        System.out.printf("  generate: total %.3f s, decode steps %.3f s%n", times[i],
            decodeNs / 1e9);
      }
    }
    return median(times);
  }

  /** CPU time of the whole process (all threads, OpenBLAS's included). */
  static long cpuNs() {
    return ((com.sun.management.OperatingSystemMXBean)
        java.lang.management.ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
  }

  static int[][] randomIds(SplittableRandom rng, int bsz, int t, int vocab) {
    int[][] ids = new int[bsz][t];
    for (int[] row : ids) {
      for (int i = 0; i < t; i++) {
        row[i] = rng.nextInt(vocab);
      }
    }
    return ids;
  }

  static double median(double[] xs) {
    double[] s = xs.clone();
    Arrays.sort(s);
    return s[s.length / 2];
  }
}
