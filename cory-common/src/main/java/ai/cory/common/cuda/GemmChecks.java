package ai.cory.common.cuda;

import static ai.cory.common.cuda.DeviceScratch.THREADS;
import static ai.cory.common.cuda.DeviceScratch.grid;

import ai.cory.common.config.Compute.GemmMath;
import ai.cory.common.io.HalfFloats;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * cuBLAS GEMMs (float32, TF32, bf16; the three transposition cases the layers use) against a
 * float64 product, and the base dequantisation kernels against the packed formats decoded in
 * Java (bit-exact: the same float products).
 */
final class GemmChecks {
  static final float[] NF4 = {-1.0f, -0.6961928009986877f, -0.5250730514526367f,
      -0.39491748809814453f, -0.28444138169288635f, -0.18477343022823334f,
      -0.09105003625154495f, 0.0f, 0.07958029955625534f, 0.16093020141124725f,
      0.24611230194568634f, 0.33791524171829224f, 0.44070982933044434f, 0.5626170039176941f,
      0.7229568362236023f, 1.0f};

  private final DeviceScratch d;

  GemmChecks(DeviceScratch d) {
    this.d = d;
  }

  List<CheckResult> run() {
    List<CheckResult> out = new ArrayList<>();
    for (GemmMath math : GemmMath.values()) {
      double tol = switch (math) {
        case FP32 -> 2e-6;
        case TF32 -> 4e-3;
        case BF16 -> 2e-2;
      };
      out.add(gemm(math, false, true, tol));  // x @ W^T: a Linear's forward, W (out, in)
      out.add(gemm(math, false, false, tol)); // dy @ W: its input gradient
      out.add(gemm(math, true, false, tol));  // dy^T @ x: its weight gradient
    }
    for (boolean[] t : new boolean[][] {{false, true}, {false, false}, {true, false}}) {
      out.add(gemm(null, t[0], t[1], 2e-2)); // operands stored as bf16
    }
    out.add(dequantHalf(false));
    out.add(dequantHalf(true));
    out.add(dequantInt8());
    out.add(dequantNf4(false));
    out.add(dequantNf4(true));
    return out;
  }

  /** One GEMM in {@code math} on float32 operands, or ({@code null}) on bf16-stored ones. */
  CheckResult gemm(GemmMath math, boolean ta, boolean tb, double tol) {
    int m = 64;
    int n = 384;
    int k = 768;
    float[] a = d.rand(m * k, 1);
    float[] b = d.rand(k * n, 1);
    long pa = d.put(a);
    long pb = d.put(b);
    long pc = d.zeros((long) m * n);
    if (math == null) {
      d.ops.gemmBf16(ta, tb, m, n, k, 1f, toBf16(pa, a.length), ta ? m : k,
          toBf16(pb, b.length), tb ? k : n, 0f, pc, n);
    } else {
      d.ops.gemm(math, ta, tb, m, n, k, 1f, pa, ta ? m : k, pb, tb ? k : n, 0f, pc, n);
    }
    double[] ref = new double[m * n];
    for (int i = 0; i < m; i++) {
      for (int j = 0; j < n; j++) {
        double s = 0;
        for (int e = 0; e < k; e++) {
          double av = ta ? a[e * m + i] : a[i * k + e];
          double bv = tb ? b[j * k + e] : b[e * n + j];
          s += av * bv;
        }
        ref[i * n + j] = s;
      }
    }
    String what = math == null ? "bf16 operands" : math.name().toLowerCase(Locale.ROOT);
    return new CheckResult("cublas " + what + (ta ? " T" : " N")
        + (tb ? "T" : "N"), m + "x" + n + "x" + k, CheckResult.error(d.get(pc, ref.length), ref), tol);
  }

  private long toBf16(long src, int n) {
    long dst = d.arena.alloc(2L * n);
    d.ops.launch("f32_to_bf16_kernel", grid(n), THREADS, 0, dst, src, (long) n);
    return dst;
  }

  /**
   * bf16 or fp16 codes to float32 (exact), then to bf16 and back through the cast kernels (round
   * to nearest even, as {@link HalfFloats#floatToBf16}).
   */
  CheckResult dequantHalf(boolean fp16) {
    int rows = 32;
    int cols = 301;
    int n = rows * cols;
    float[] x = d.rand(n, 3);
    ByteBuffer codes = ByteBuffer.allocate(2 * n).order(ByteOrder.LITTLE_ENDIAN);
    double[] ref = new double[2 * n];
    for (int i = 0; i < n; i++) {
      short h = fp16 ? HalfFloats.floatToF16(x[i]) : HalfFloats.floatToBf16(x[i]);
      codes.putShort(2 * i, h);
      ref[i] = fp16 ? HalfFloats.f16ToFloat(h) : HalfFloats.bf16ToFloat(h);
      ref[n + i] = HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(x[i]));
    }
    long out = d.zeros(n);
    d.ops.launch("dequant_half", grid(n), THREADS, 0, out, 0L, d.put(codes.array()), 0, rows,
        cols, fp16 ? 1 : 0);
    long bf = d.arena.alloc(2L * n);
    long back = d.zeros(n);
    d.ops.launch("f32_to_bf16_kernel", grid(n), THREADS, 0, bf, d.put(x), (long) n);
    d.ops.launch("bf16_to_f32_kernel", grid(n), THREADS, 0, back, bf, (long) n);
    float[] got = LayerChecks.concat(d.get(out, n), d.get(back, n));
    return new CheckResult(fp16 ? "dequant_half fp16 + bf16 casts" : "dequant_half bf16 + bf16 casts",
        rows + "x" + cols, CheckResult.error(got, ref), 0);
  }

  CheckResult dequantInt8() {
    int rows = 96;
    int cols = 333; // odd: the scales start unaligned
    ByteBuffer buf = ByteBuffer.allocate(rows * cols + 4 * rows).order(ByteOrder.LITTLE_ENDIAN);
    double[] ref = new double[rows * cols];
    float[] scales = d.rand(rows, 0.05);
    for (int r = 0; r < rows; r++) {
      for (int c = 0; c < cols; c++) {
        byte q = (byte) (d.rnd.nextInt(255) - 127);
        buf.put(r * cols + c, q);
        ref[r * cols + c] = q * scales[r];
      }
      buf.putFloat(rows * cols + 4 * r, scales[r]);
    }
    long out = d.zeros((long) rows * cols);
    d.ops.launch("dequant_int8", grid((long) rows * cols), THREADS, 0, out, 0L, d.put(buf.array()),
        (long) rows * cols, 0, rows, cols);
    return new CheckResult("dequant_int8", rows + "x" + cols, CheckResult.error(d.get(out, ref.length), ref), 0);
  }

  CheckResult dequantNf4(boolean doubleQuant) {
    int rows = 48;
    int cols = 200; // a short last block
    int rowBytes = (cols + 1) / 2;
    int blocks = (cols + 63) / 64;
    int constants = rows * blocks;
    ByteBuffer buf = ByteBuffer.allocate(rows * rowBytes + (doubleQuant ? 1 : 4) * constants)
        .order(ByteOrder.LITTLE_ENDIAN);
    float[] second = d.rand((constants + 255) / 256, 0.01);
    float mean = 0.02f;
    float[] absmax = new float[constants];
    for (int i = 0; i < constants; i++) {
      if (doubleQuant) {
        byte q = (byte) (d.rnd.nextInt(255) - 127);
        buf.put(rows * rowBytes + i, q);
        absmax[i] = q * second[i / 256] + mean;
      } else {
        absmax[i] = (float) d.rnd.nextDouble();
        buf.putFloat(rows * rowBytes + 4 * i, absmax[i]);
      }
    }
    double[] ref = new double[rows * cols];
    for (int r = 0; r < rows; r++) {
      for (int c = 0; c < cols; c++) {
        int code = d.rnd.nextInt(16);
        int at = r * rowBytes + c / 2;
        int old = buf.get(at) & 0xFF;
        buf.put(at, (byte) ((c & 1) == 0 ? (old & 0x0F) | (code << 4) : (old & 0xF0) | code));
        ref[r * cols + c] = NF4[code] * absmax[r * blocks + c / 64];
      }
    }
    long out = d.zeros((long) rows * cols);
    d.ops.launch("dequant_nf4", grid((long) rows * cols), THREADS, 0, out, 0L, d.put(buf.array()),
        (long) rows * rowBytes, d.put(second), mean, doubleQuant ? 1 : 0, 0, rows, cols);
    return new CheckResult(doubleQuant ? "dequant_nf4 (double quant)" : "dequant_nf4",
        rows + "x" + cols, CheckResult.error(d.get(out, ref.length), ref), 0);
  }
}
