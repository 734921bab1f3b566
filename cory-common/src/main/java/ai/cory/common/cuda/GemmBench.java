package ai.cory.common.cuda;

import static ai.cory.common.cuda.DeviceScratch.THREADS;
import static ai.cory.common.cuda.DeviceScratch.grid;

import ai.cory.common.config.Compute.GemmMath;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Throughput of the engine's building blocks on the GPU at the GPT-2-small and Llama-2-7B
 * shapes: every projection GEMM of one layer and the vocabulary head for 512 tokens in each
 * math on float32 operands (float32, TF32, bf16: what the engine runs) and on operands stored as
 * bf16 ({@code "bf16_operands"}: what a bf16-resident engine would get), and the nf4 base
 * dequantisation of the largest 7B matrix. Medians
 * of timed repeats bracketed by a device synchronisation. JSON lines, one per measurement.
 */
final class GemmBench {
  private static final int TOKENS = 512;
  private static final int REPEATS = 10;

  /** A model's shapes: hidden C, MLP width I, vocabulary V, gated (Llama) or not. */
  record Shape(String model, int hidden, int inter, int vocab, boolean gated) {}

  static final List<Shape> SHAPES = List.of(new Shape("gpt2-small", 768, 3072, 50257, false),
      new Shape("llama-2-7b", 4096, 11008, 32000, true));

  private final DeviceOps ctx;

  GemmBench(DeviceOps ctx) {
    this.ctx = ctx;
  }

  List<String> run() {
    List<String> lines = new ArrayList<>();
    for (Shape s : SHAPES) {
      int c = s.hidden();
      int[][] projections = {
          {3 * c, c}, {c, c}, {s.gated() ? 2 * s.inter() : s.inter(), c}, {c, s.inter()},
          {s.vocab(), c}};
      String[] names = {"qkv", "o", s.gated() ? "gate_up" : "fc", "down", "head"};
      for (GemmMath math : GemmMath.values()) {
        for (int p = 0; p < projections.length; p++) {
          lines.add(gemm(s.model(), names[p], math, projections[p][0], projections[p][1]));
        }
      }
      for (int p = 0; p < projections.length; p++) { // operands stored as bf16 (math null)
        lines.add(gemm(s.model(), names[p], null, projections[p][0], projections[p][1]));
      }
    }
    lines.add(dequant(SHAPES.get(1)));
    lines.add(gemvNf4(SHAPES.get(1), 4));
    return lines;
  }

  private String gemm(String model, String name, GemmMath math, int out, int in) {
    int elem = math == null ? 2 : 4;
    long need = (long) elem * ((long) TOKENS * in + (long) out * in) + 4L * TOKENS * out + (1 << 20);
    try (DeviceArena arena = ctx.arena(need)) {
      long x = arena.alloc((long) elem * TOKENS * in);
      long w = arena.alloc((long) elem * out * in);
      long y = arena.floats((long) TOKENS * out);
      ctx.zero(x, (long) elem * TOKENS * in);
      ctx.zero(w, (long) elem * out * in);
      Runnable call = math == null
          ? () -> ctx.gemmBf16(false, true, TOKENS, out, in, 1f, x, in, w, in, 0f, y, out)
          : () -> ctx.gemm(math, false, true, TOKENS, out, in, 1f, x, in, w, in, 0f, y,
              out);
      double s = median(call);
      double tflops = 2.0 * TOKENS * out * in / s / 1e12;
      return String.format(Locale.ROOT, "{\"bench\":\"gemm\",\"model\":\"%s\",\"projection\":\"%s\","
          + "\"math\":\"%s\",\"m\":%d,\"n\":%d,\"k\":%d,\"seconds_median\":%.6e,\"tflops\":%.2f}",
          model, name, math == null ? "bf16_operands" : math.name().toLowerCase(Locale.ROOT),
          TOKENS, out, in, s, tflops);
    }
  }

  /**
   * A decode step's product with the 7B MLP matrix straight from its NF4 bytes (gemv_packed) for
   * {@code n} rows: what the engine runs in place of dequantisation and a GEMM when a step has at
   * most 16 rows; GB/s of packed bytes read.
   */
  private String gemvNf4(Shape s, int n) {
    int rows = s.inter();
    int cols = s.hidden();
    long codes = (long) rows * ((cols + 1) / 2);
    long scales = 4L * rows * ((cols + 63) / 64);
    try (DeviceArena arena = ctx.arena(codes + scales + 4L * n * (rows + cols) + (1 << 20))) {
      long packed = arena.alloc(codes + scales);
      long x = arena.floats((long) n * cols);
      long y = arena.floats((long) n * rows);
      ctx.zero(packed, codes + scales);
      ctx.zero(x, 4L * n * cols);
      int warps = THREADS / 32;
      double sec = median(() -> ctx.launch("gemv_packed", new int[] {(rows + warps - 1) / warps},
          THREADS, 0, y, x, packed, codes, 0L, 0f, 3, n, rows, cols, 0));
      double gbs = (codes + scales) / sec / 1e9;
      return String.format(Locale.ROOT, "{\"bench\":\"gemv_packed_nf4\",\"model\":\"%s\","
          + "\"n\":%d,\"rows\":%d,\"cols\":%d,\"seconds_median\":%.6e,\"gb_per_s\":%.1f}",
          s.model(), n, rows, cols, sec, gbs);
    }
  }

  private String dequant(Shape s) {
    int rows = s.inter();
    int cols = s.hidden();
    long codes = (long) rows * ((cols + 1) / 2);
    long scales = 4L * rows * ((cols + 63) / 64);
    try (DeviceArena arena = ctx.arena(codes + scales + 2L * rows * cols + (1 << 20))) {
      long packed = arena.alloc(codes + scales);
      long out = arena.alloc(2L * rows * cols);
      ctx.zero(packed, codes + scales);
      double sec = median(() -> ctx.launch("dequant_nf4", grid((long) rows * cols), THREADS, 0,
          0L, out, packed, codes, 0L, 0f, 0, 0, rows, cols));
      double gbs = (codes + scales + 2.0 * rows * cols) / sec / 1e9;
      return String.format(Locale.ROOT, "{\"bench\":\"dequant_nf4_to_bf16\",\"model\":\"%s\","
          + "\"rows\":%d,\"cols\":%d,\"seconds_median\":%.6e,\"gb_per_s\":%.1f}",
          s.model(), rows, cols, sec, gbs);
    }
  }

  private double median(Runnable call) {
    return median(ctx, call, 3, REPEATS);
  }

  /** Median seconds of {@code repeats} timed calls after {@code warmup}, each synchronised. */
  static double median(DeviceOps ops, Runnable call, int warmup, int repeats) {
    for (int i = 0; i < warmup; i++) {
      call.run();
    }
    ops.synchronize();
    double[] t = new double[repeats];
    for (int i = 0; i < repeats; i++) {
      long t0 = System.nanoTime();
      call.run();
      ops.synchronize();
      t[i] = (System.nanoTime() - t0) / 1e9;
    }
    Arrays.sort(t);
    return t[repeats / 2];
  }
}
