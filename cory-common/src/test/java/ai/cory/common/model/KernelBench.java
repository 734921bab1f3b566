package ai.cory.common.model;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/** Throwaway per-kernel timing at GPT-2-small training shapes (B 8, T 128), FLOAT. */
public final class KernelBench {
  private KernelBench() {}

  static Span rand(long n) {
    return Span.of(Nd4j.rand(DataType.FLOAT, n).subi(0.5));
  }

  static void time(String what, int reps, Runnable r) {
    r.run();
    long c0 = EngineBench.cpuNs();
    long t0 = System.nanoTime();
    for (int i = 0; i < reps; i++) {
      r.run();
    }
    System.out.printf("%-28s %8.2f ms  (cpu %8.2f ms)%n", what,
        (System.nanoTime() - t0) / 1e6 / reps, (EngineBench.cpuNs() - c0) / 1e6 / reps);
  }

  public static void main(String[] args) {
    int n = 1024;
    int c = 768;
    int v = 50257;
    int r = 1016;
    Scratch sc = new Scratch(6);
    Span ones = Span.of(Nd4j.ones(DataType.FLOAT, n));
    Span x = rand((long) n * c);
    Span y = rand((long) n * c);
    Span qkvW = rand((long) c * 3 * c);
    Span qkvB = rand(3L * c);
    Span qkv = rand((long) n * 3 * c);
    Span fcW = rand((long) c * 4 * c);
    Span fc = rand((long) n * 4 * c);
    Span fc2 = rand((long) n * 4 * c);
    Span projW = rand((long) c * c);
    Span lnw = rand(c);
    Span lnb = rand(c);
    Span mean = rand(n);
    Span rstd = rand(n);
    Span dW = rand((long) c * 4 * c);
    Span db = rand(4L * c);
    System.out.printf("gemm probe %.1f%n", EngineBench.gemmProbe());
    time("linear qkv fwd", 5, () -> Linear.forward(qkv, x, qkvW, qkvB, n, c, 3 * c, false, false,
        ones));
    time("linear fc fwd", 5, () -> Linear.forward(fc, x, fcW, db, n, c, 4 * c, false, false,
        ones));
    time("linear fc2 fwd (acc)", 5, () -> Linear.forward(y, fc, fcW, lnb, n, 4 * c, c, false,
        true, ones));
    time("linear proj fwd (acc)", 5, () -> Linear.forward(y, x, projW, lnb, n, c, c, false, true,
        ones));
    time("linear fc bwd", 5, () -> Linear.backward(x, false, dW, db, fc, y, fcW, n, c, 4 * c,
        false, ones));
    time("linear fc2 bwd", 5, () -> Linear.backward(fc2, false, dW, lnb, y, fc, fcW, n, 4 * c, c,
        false, ones));
    time("layernorm fwd", 20, () -> LayerNorm.forward(y, mean, rstd, x, lnw, lnb, n, c, 1e-5,
        sc));
    time("layernorm bwd", 20, () -> LayerNorm.backward(y, lnw, lnb, x, x, mean, rstd, lnw, n, c,
        sc));
    time("gelu fwd", 10, () -> Gelu.forward(fc2, fc, (long) n * 4 * c, sc));
    time("gelu bwd", 10, () -> Gelu.backward(fc2, fc2, fc, (long) n * 4 * c, sc));
    Attention.Dims d = new Attention.Dims(8, 128, 12, 12, 64);
    Span att = rand(8L * 12 * 128 * 128);
    Span datt = rand(8L * 12 * 128 * 128);
    time("attention fwd", 5, () -> Attention.forward(x, att, qkv, new int[n], d, sc));
    int[] mask = new int[n];
    java.util.Arrays.fill(mask, 1);
    time("attention fwd (mask 1)", 5, () -> Attention.forward(x, att, qkv, mask, d, sc));
    time("attention bwd", 5, () -> Attention.backward(qkv, datt, y, att, qkv, d, sc));
    Span head = rand((long) v * c);
    Span logits = rand((long) r * v);
    Span dhc = rand((long) r * c);
    time("head gemm fwd", 2, () -> Blas.gemm(false, true, r, v, c, 1, x, 0, c, head, 0, c, 0,
        logits, 0, v));
    int[] targets = new int[r];
    int[] stat = new int[r];
    int[] lp = new int[r];
    for (int i = 0; i < r; i++) {
      targets[i] = i;
      stat[i] = i;
      lp[i] = i;
    }
    VocabSoftmax.Rows rows = new VocabSoftmax.Rows(r, targets, stat, lp);
    Span lse = rand(n);
    Span logp = rand(n);
    time("vocab softmax fwd", 2, () -> VocabSoftmax.forward(logits, v, rows, 0, r, lse, logp,
        null, false, null, null, sc));
    time("vocab softmax bwd", 2, () -> VocabSoftmax.backward(logits, v, rows, 0, r, lse, false,
        logp, null, sc));
    time("head gemm dX", 2, () -> Blas.gemm(false, false, r, c, v, 1, logits, 0, v, head, 0, c, 0,
        dhc, 0, c));
    time("head gemm dW", 2, () -> Blas.gemm(true, false, v, c, r, 1, logits, 0, v, x, 0, c, 1,
        head, 0, c));
    System.out.printf("gemm probe %.1f%n", EngineBench.gemmProbe());
    System.exit(0);
  }
}
