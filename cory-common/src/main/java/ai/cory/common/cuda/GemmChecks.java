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
 * float64 product, the base dequantisation kernels against the packed formats decoded in Java
 * (bit-exact: the same float products), and the decode step's product from the packed bytes
 * ({@code gemv_packed}) against the float64 product with those weights.
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
    // a decode step's rows (at most 16) and row counts that leave a block's warps idle
    out.add(gemvPacked(halfMatrix(false, 37, 301), 5));
    out.add(gemvPacked(halfMatrix(true, 37, 301), 16));
    out.add(gemvPacked(int8Matrix(41, 333), 1));
    out.add(gemvPacked(nf4Matrix(false, 45, 200), 7));
    out.add(gemvPacked(nf4Matrix(true, 45, 200), 4));
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
    Packed m = halfMatrix(fp16, 32, 301);
    int rows = m.rows();
    int cols = m.cols();
    int n = rows * cols;
    float[] x = d.rand(n, 3);
    double[] ref = java.util.Arrays.copyOf(m.weights(), 2 * n);
    for (int i = 0; i < n; i++) {
      ref[n + i] = HalfFloats.bf16ToFloat(HalfFloats.floatToBf16(x[i]));
    }
    long out = d.zeros(n);
    d.ops.launch("dequant_half", grid(n), THREADS, 0, out, 0L, d.put(m.bytes()), 0, rows,
        cols, fp16 ? 1 : 0);
    long bf = d.arena.alloc(2L * n);
    long back = d.zeros(n);
    d.ops.launch("f32_to_bf16_kernel", grid(n), THREADS, 0, bf, d.put(x), (long) n);
    d.ops.launch("bf16_to_f32_kernel", grid(n), THREADS, 0, back, bf, (long) n);
    float[] got = LayerChecks.concat(d.get(out, n), d.get(back, n));
    return new CheckResult(fp16 ? "dequant_half fp16 + bf16 casts" : "dequant_half bf16 + bf16 casts",
        rows + "x" + cols, CheckResult.error(got, ref), 0);
  }

  /**
   * A random packed (rows, cols) matrix as {@code PackedMatrix} stores it and its weights
   * decoded in Java; {@code format} as gemv_packed's (0 bf16, 1 fp16, 2 int8, 3 nf4, 4 nf4-dq).
   */
  record Packed(int format, int rows, int cols, byte[] bytes, long scaleStart, float[] second,
      float mean, double[] weights) {}

  Packed halfMatrix(boolean fp16, int rows, int cols) {
    int n = rows * cols;
    float[] x = d.rand(n, 3);
    ByteBuffer codes = ByteBuffer.allocate(2 * n).order(ByteOrder.LITTLE_ENDIAN);
    double[] w = new double[n];
    for (int i = 0; i < n; i++) {
      short h = fp16 ? HalfFloats.floatToF16(x[i]) : HalfFloats.floatToBf16(x[i]);
      codes.putShort(2 * i, h);
      w[i] = fp16 ? HalfFloats.f16ToFloat(h) : HalfFloats.bf16ToFloat(h);
    }
    return new Packed(fp16 ? 1 : 0, rows, cols, codes.array(), 0, new float[1], 0f, w);
  }

  Packed int8Matrix(int rows, int cols) {
    ByteBuffer buf = ByteBuffer.allocate(rows * cols + 4 * rows).order(ByteOrder.LITTLE_ENDIAN);
    double[] w = new double[rows * cols];
    float[] scales = d.rand(rows, 0.05);
    for (int r = 0; r < rows; r++) {
      for (int c = 0; c < cols; c++) {
        byte q = (byte) (d.rnd.nextInt(255) - 127);
        buf.put(r * cols + c, q);
        w[r * cols + c] = q * scales[r];
      }
      buf.putFloat(rows * cols + 4 * r, scales[r]);
    }
    return new Packed(2, rows, cols, buf.array(), (long) rows * cols, new float[1], 0f, w);
  }

  CheckResult dequantInt8() {
    Packed m = int8Matrix(96, 333); // odd columns: the scales start unaligned
    long out = d.zeros((long) m.rows() * m.cols());
    d.ops.launch("dequant_int8", grid((long) m.rows() * m.cols()), THREADS, 0, out, 0L,
        d.put(m.bytes()), m.scaleStart(), 0, m.rows(), m.cols());
    return new CheckResult("dequant_int8", m.rows() + "x" + m.cols(),
        CheckResult.error(d.get(out, m.weights().length), m.weights()), 0);
  }

  Packed nf4Matrix(boolean doubleQuant, int rows, int cols) {
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
    double[] w = new double[rows * cols];
    for (int r = 0; r < rows; r++) {
      for (int c = 0; c < cols; c++) {
        int code = d.rnd.nextInt(16);
        int at = r * rowBytes + c / 2;
        int old = buf.get(at) & 0xFF;
        buf.put(at, (byte) ((c & 1) == 0 ? (old & 0x0F) | (code << 4) : (old & 0xF0) | code));
        w[r * cols + c] = NF4[code] * absmax[r * blocks + c / 64];
      }
    }
    return new Packed(doubleQuant ? 4 : 3, rows, cols, buf.array(), (long) rows * rowBytes,
        second, mean, w);
  }

  CheckResult dequantNf4(boolean doubleQuant) {
    Packed m = nf4Matrix(doubleQuant, 48, 200); // a short last block
    long out = d.zeros((long) m.rows() * m.cols());
    d.ops.launch("dequant_nf4", grid((long) m.rows() * m.cols()), THREADS, 0, out, 0L,
        d.put(m.bytes()), m.scaleStart(), d.put(m.second()), m.mean(), doubleQuant ? 1 : 0, 0,
        m.rows(), m.cols());
    return new CheckResult(doubleQuant ? "dequant_nf4 (double quant)" : "dequant_nf4",
        m.rows() + "x" + m.cols(), CheckResult.error(d.get(out, m.weights().length), m.weights()),
        0);
  }

  /**
   * gemv_packed, a decode step's product straight from the stored bytes, in every format:
   * {@code y (n, rows) = x (n, cols) W^T}, onto a random y for the odd formats (accumulate),
   * against the float64 product with the Java-decoded weights.
   */
  CheckResult gemvPacked(Packed m, int n) {
    float[] x = d.rand(n * m.cols(), 1);
    boolean accumulate = (m.format() & 1) == 1;
    float[] y0 = d.rand(n * m.rows(), 1);
    long y = accumulate ? d.put(y0) : d.zeros((long) n * m.rows());
    int[] g = {(m.rows() + THREADS / 32 - 1) / (THREADS / 32)};
    d.ops.launch("gemv_packed", g, THREADS, 0, y, d.put(x), d.put(m.bytes()), m.scaleStart(),
        d.put(m.second()), m.mean(), m.format(), n, m.rows(), m.cols(), accumulate ? 1 : 0);
    double[] ref = new double[n * m.rows()];
    for (int b = 0; b < n; b++) {
      for (int r = 0; r < m.rows(); r++) {
        double s = accumulate ? y0[b * m.rows() + r] : 0;
        for (int k = 0; k < m.cols(); k++) {
          s += (double) x[b * m.cols() + k] * m.weights()[r * m.cols() + k];
        }
        ref[b * m.rows() + r] = s;
      }
    }
    String[] names = {"bf16", "fp16", "int8", "nf4", "nf4-dq"};
    return new CheckResult("gemv_packed " + names[m.format()], n + "x" + m.rows() + "x"
        + m.cols(), CheckResult.error(d.get(y, ref.length), ref), 2e-6);
  }

}
