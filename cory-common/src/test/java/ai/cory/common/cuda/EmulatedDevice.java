package ai.cory.common.cuda;

import ai.cory.common.config.Compute;
import ai.cory.common.io.HalfFloats;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * A device for tests without a GPU that validates every launch, GEMM and copy as {@link
 * ValidatingDevice} does and then carries it out in Java: each arena is host memory, and each
 * kernel the engine's device backend launches is executed by a transcription of its CUDA C
 * contract (the comment and body in {@code common/cuda/kernels}), one sequential loop per
 * grid-stride or per block, sums in double. It proves the device path's wiring (which buffer,
 * which offset, stride, index array, tile and launch order) numerically here: the engine on this
 * device must meet the CPU engine and the PyTorch goldens. What it cannot prove is the CUDA C
 * arithmetic itself; the GPU check compares every kernel with float64 references on a GPU.
 */
final class EmulatedDevice extends ValidatingDevice {
  private static final float[] NF4 = {-1.0f, -0.6961928009986877f, -0.5250730514526367f,
      -0.39491748809814453f, -0.28444138169288635f, -0.18477343022823334f,
      -0.09105003625154495f, 0.0f, 0.07958029955625534f, 0.16093020141124725f,
      0.24611230194568634f, 0.33791524171829224f, 0.44070982933044434f, 0.5626170039176941f,
      0.7229568362236023f, 1.0f};

  private record Mem(long base, long end, ByteBuffer buf) {}

  private final List<Mem> mems = new ArrayList<>();
  private Mem last;

  @Override
  void allocated(long base, long bytes) {
    mems.add(new Mem(base, base + bytes,
        ByteBuffer.allocate(Math.toIntExact(bytes)).order(ByteOrder.LITTLE_ENDIAN)));
  }

  @Override
  void freed(long base) {
    mems.removeIf(m -> m.base == base);
    last = null;
  }

  private Mem mem(long addr) {
    Mem m = last;
    if (m != null && addr >= m.base && addr < m.end) {
      return m;
    }
    for (Mem x : mems) {
      if (addr >= x.base && addr < x.end) {
        last = x;
        return x;
      }
    }
    throw new IllegalArgumentException("address " + Long.toHexString(addr) + " is not mapped");
  }

  private float f(long addr) {
    Mem m = mem(addr);
    return m.buf.getFloat((int) (addr - m.base));
  }

  private void f(long addr, float v) {
    Mem m = mem(addr);
    m.buf.putFloat((int) (addr - m.base), v);
  }

  private int i(long addr) {
    Mem m = mem(addr);
    return m.buf.getInt((int) (addr - m.base));
  }

  private int u8(long addr) {
    Mem m = mem(addr);
    return m.buf.get((int) (addr - m.base)) & 0xff;
  }

  private int u16(long addr) {
    Mem m = mem(addr);
    return m.buf.getShort((int) (addr - m.base)) & 0xffff;
  }

  /** Element {@code k} of a float array at {@code p}. */
  private float fa(long p, long k) {
    return f(p + 4 * k);
  }

  private void fa(long p, long k, float v) {
    f(p + 4 * k, v);
  }

  private void fadd(long p, long k, float v) {
    f(p + 4 * k, f(p + 4 * k) + v);
  }

  private int ia(long p, long k) {
    return i(p + 4 * k);
  }

  // --- memory -------------------------------------------------------------------------------

  @Override
  public void upload(long dst, float[] src) {
    super.upload(dst, src);
    for (int k = 0; k < src.length; k++) {
      fa(dst, k, src[k]);
    }
  }

  @Override
  public void upload(long dst, int[] src) {
    super.upload(dst, src);
    Mem m = mem(dst);
    for (int k = 0; k < src.length; k++) {
      m.buf.putInt((int) (dst - m.base) + 4 * k, src[k]);
    }
  }

  @Override
  public void upload(long dst, double[] src) {
    super.upload(dst, src);
    Mem m = mem(dst);
    for (int k = 0; k < src.length; k++) {
      m.buf.putDouble((int) (dst - m.base) + 8 * k, src[k]);
    }
  }

  @Override
  public void upload(long dst, byte[] src) {
    super.upload(dst, src);
    Mem m = mem(dst);
    m.buf.put((int) (dst - m.base), src, 0, src.length);
  }

  @Override
  public void zero(long dst, long bytes) {
    super.zero(dst, bytes);
    Mem m = mem(dst);
    int at = (int) (dst - m.base);
    for (int k = 0; k < bytes; k++) {
      m.buf.put(at + k, (byte) 0);
    }
  }

  @Override
  public void copy(long dst, long src, long bytes) {
    super.copy(dst, src, bytes);
    Mem to = mem(dst);
    Mem from = mem(src);
    byte[] tmp = new byte[Math.toIntExact(bytes)];
    from.buf.get((int) (src - from.base), tmp, 0, tmp.length);
    to.buf.put((int) (dst - to.base), tmp, 0, tmp.length);
  }

  @Override
  public float[] downloadFloats(long src, int n) {
    super.downloadFloats(src, n);
    float[] out = new float[n];
    for (int k = 0; k < n; k++) {
      out[k] = fa(src, k);
    }
    return out;
  }

  @Override
  public int[] downloadInts(long src, int n) {
    super.downloadInts(src, n);
    int[] out = new int[n];
    for (int k = 0; k < n; k++) {
      out[k] = ia(src, k);
    }
    return out;
  }

  // --- GEMM ---------------------------------------------------------------------------------

  @Override
  public void gemm(Compute.GemmMath math, boolean transA, boolean transB, int m, int n, int k,
      float alpha, long a, int lda, long b, int ldb, float beta, long c, int ldc) {
    super.gemm(math, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    // tensor-core math rounds each float32 operand (to nearest even) before its products
    int keep = switch (math) {
      case FP32 -> 23;
      case TF32 -> 10;
      case BF16 -> 7;
    };
    multiply(transA, transB, m, n, k, alpha, (p, e) -> roundMantissa(fa(p, e), keep), a, lda, b,
        ldb, beta, c, ldc);
  }

  @Override
  public void gemmBf16(boolean transA, boolean transB, int m, int n, int k, float alpha, long a,
      int lda, long b, int ldb, float beta, long c, int ldc) {
    super.gemmBf16(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    multiply(transA, transB, m, n, k, alpha,
        (p, e) -> HalfFloats.bf16ToFloat((short) u16(p + 2 * e)), a, lda, b, ldb, beta, c, ldc);
  }

  /** {@code x} rounded to nearest even with {@code bits} mantissa bits (23: unchanged). */
  static float roundMantissa(float x, int bits) {
    if (bits >= 23 || !Float.isFinite(x)) {
      return x;
    }
    int drop = 23 - bits;
    int i = Float.floatToRawIntBits(x);
    int half = 1 << (drop - 1);
    int lsb = (i >>> drop) & 1;
    return Float.intBitsToFloat(((i + half - 1 + lsb) >>> drop) << drop);
  }

  private interface Operand {
    float at(long base, long element);
  }

  private void multiply(boolean transA, boolean transB, int m, int n, int k, float alpha,
      Operand op, long a, int lda, long b, int ldb, float beta, long c, int ldc) {
    float[] av = new float[m * k]; // op(A) (m, k) and op(B) (k, n), gathered once
    for (int r = 0; r < m; r++) {
      for (int p = 0; p < k; p++) {
        av[r * k + p] = op.at(a, transA ? (long) p * lda + r : (long) r * lda + p);
      }
    }
    float[] bv = new float[k * n];
    for (int p = 0; p < k; p++) {
      for (int j = 0; j < n; j++) {
        bv[p * n + j] = op.at(b, transB ? (long) j * ldb + p : (long) p * ldb + j);
      }
    }
    double[] row = new double[n];
    for (int r = 0; r < m; r++) {
      java.util.Arrays.fill(row, 0);
      for (int p = 0; p < k; p++) {
        double x = av[r * k + p];
        if (x != 0) {
          for (int j = 0; j < n; j++) {
            row[j] += x * bv[p * n + j];
          }
        }
      }
      for (int j = 0; j < n; j++) {
        long at = (long) r * ldc + j;
        double old = beta == 0 ? 0 : beta * fa(c, at); // cuBLAS reads no C when beta is 0
        fa(c, at, (float) (alpha * row[j] + old));
      }
    }
  }

  // --- kernels ------------------------------------------------------------------------------

  private static long p(Object[] a, int i) {
    return (Long) a[i];
  }

  private static int n(Object[] a, int i) {
    return (Integer) a[i];
  }

  private static float x(Object[] a, int i) {
    return (Float) a[i];
  }

  @Override
  public void launch(String name, int[] grid, int block, int sharedBytes, Object... a) {
    super.launch(name, grid, block, sharedBytes, a);
    switch (name) {
      case "embedding_forward" -> embedding(a);
      case "embedding_backward" -> embeddingBackward(a);
      case "layernorm_forward" -> layerNorm(a);
      case "layernorm_backward" -> layerNormBackward(a);
      case "layernorm_dwdb" -> layerNormDwDb(a);
      case "rmsnorm_forward" -> rmsNorm(a);
      case "rmsnorm_backward" -> rmsNormBackward(a);
      case "rmsnorm_dw" -> rmsNormDw(a);
      case "add_bias" -> addBias(a);
      case "axpy" -> {
        for (long k = 0; k < p(a, 3); k++) {
          fadd(p(a, 0), k, x(a, 2) * fa(p(a, 1), k));
        }
      }
      case "scale" -> {
        for (long k = 0; k < p(a, 2); k++) {
          fa(p(a, 0), k, x(a, 1) * fa(p(a, 0), k));
        }
      }
      case "adam_step" -> adam(a);
      case "column_sum" -> columnSum(a);
      case "rope_apply" -> rope(a);
      case "attention_forward" -> attention(a);
      case "attention_backward_query" -> attentionBackwardQuery(a);
      case "attention_backward_key" -> attentionBackwardKey(a);
      case "gelu_forward", "gelu_backward" -> gelu(a, name.endsWith("backward"));
      case "swiglu_forward" -> swiglu(a);
      case "swiglu_backward" -> swigluBackward(a);
      case "vocab_forward" -> vocab(a);
      case "vocab_backward" -> vocabBackward(a);
      case "kv_cache_write" -> kvCacheWrite(a);
      case "attention_cached" -> attentionCached(a);
      case "dequant_half", "dequant_int8", "dequant_nf4" -> dequant(name, a);
      case "gemv_packed" -> gemvPacked(a);
      case "sample_tokens" -> sample(a);
      default -> throw new UnsupportedOperationException(name + " is not emulated");
    }
  }

  /** adam.cu: the moments, the update into the gradient buffer, the parameter step. */
  private void adam(Object[] a) {
    long params = p(a, 0);
    long m = p(a, 1);
    long v = p(a, 2);
    long grads = p(a, 3);
    float step = x(a, 5);
    float b1 = x(a, 6);
    float b2 = x(a, 7);
    float eps = x(a, 8);
    for (long k = 0; k < p(a, 4); k++) {
      float g = fa(grads, k);
      float mi = b1 * fa(m, k) + (1.0f - b1) * g;
      float vi = b2 * fa(v, k) + (1.0f - b2) * g * g;
      fa(m, k, mi);
      fa(v, k, vi);
      float u = step * mi / ((float) Math.sqrt(vi) + eps);
      fa(grads, k, u);
      fa(params, k, fa(params, k) - u);
    }
  }

  private void embedding(Object[] a) {
    long out = p(a, 0);
    long tok = p(a, 1);
    long pos = p(a, 2);
    long wte = p(a, 3);
    long wpe = p(a, 4);
    int rows = n(a, 5);
    int cols = n(a, 6);
    for (int r = 0; r < rows; r++) {
      for (int c = 0; c < cols; c++) {
        float v = fa(wte, (long) ia(tok, r) * cols + c);
        if (wpe != 0) {
          v += fa(wpe, (long) ia(pos, r) * cols + c);
        }
        fa(out, (long) r * cols + c, v);
      }
    }
  }

  private void embeddingBackward(Object[] a) {
    long dwte = p(a, 0);
    long dwpe = p(a, 1);
    long dout = p(a, 2);
    long tok = p(a, 3);
    long pos = p(a, 4);
    int rows = n(a, 5);
    int cols = n(a, 6);
    for (int r = 0; r < rows; r++) {
      for (int c = 0; c < cols; c++) {
        float d = fa(dout, (long) r * cols + c);
        fadd(dwte, (long) ia(tok, r) * cols + c, d);
        if (dwpe != 0) {
          fadd(dwpe, (long) ia(pos, r) * cols + c, d);
        }
      }
    }
  }

  private void layerNorm(Object[] a) {
    long out = p(a, 0);
    long mean = p(a, 1);
    long rstd = p(a, 2);
    long x = p(a, 3);
    long w = p(a, 4);
    long b = p(a, 5);
    int rows = n(a, 6);
    int cols = n(a, 7);
    float eps = x(a, 8);
    for (int r = 0; r < rows; r++) {
      long base = (long) r * cols;
      double s = 0;
      for (int c = 0; c < cols; c++) {
        s += fa(x, base + c);
      }
      float mu = (float) (s / cols);
      double v = 0;
      for (int c = 0; c < cols; c++) {
        double d = fa(x, base + c) - mu;
        v += d * d;
      }
      float rs = (float) (1 / Math.sqrt(v / cols + eps));
      for (int c = 0; c < cols; c++) {
        fa(out, base + c, (fa(x, base + c) - mu) * rs * fa(w, c) + fa(b, c));
      }
      fa(mean, r, mu);
      fa(rstd, r, rs);
    }
  }

  private void layerNormBackward(Object[] a) {
    long dx = p(a, 0);
    long dout = p(a, 1);
    long x = p(a, 2);
    long mean = p(a, 3);
    long rstd = p(a, 4);
    long w = p(a, 5);
    int rows = n(a, 6);
    int cols = n(a, 7);
    for (int r = 0; r < rows; r++) {
      long base = (long) r * cols;
      float mu = fa(mean, r);
      float rs = fa(rstd, r);
      double sg = 0;
      double sgn = 0;
      for (int c = 0; c < cols; c++) {
        double g = fa(dout, base + c) * fa(w, c);
        sg += g;
        sgn += g * (fa(x, base + c) - mu) * rs;
      }
      double mg = sg / cols;
      double mgn = sgn / cols;
      for (int c = 0; c < cols; c++) {
        double nn = (fa(x, base + c) - mu) * rs;
        fadd(dx, base + c, (float) (rs * (fa(dout, base + c) * fa(w, c) - mg - nn * mgn)));
      }
    }
  }

  private void layerNormDwDb(Object[] a) {
    long dw = p(a, 0);
    long db = p(a, 1);
    long dout = p(a, 2);
    long x = p(a, 3);
    long mean = p(a, 4);
    long rstd = p(a, 5);
    int rows = n(a, 6);
    int cols = n(a, 7);
    for (int c = 0; c < cols; c++) {
      double aw = 0;
      double ab = 0;
      for (int r = 0; r < rows; r++) {
        long k = (long) r * cols + c;
        aw += fa(dout, k) * (fa(x, k) - fa(mean, r)) * fa(rstd, r);
        ab += fa(dout, k);
      }
      fadd(dw, c, (float) aw);
      fadd(db, c, (float) ab);
    }
  }

  private void rmsNorm(Object[] a) {
    long out = p(a, 0);
    long rstd = p(a, 1);
    long x = p(a, 2);
    long w = p(a, 3);
    int rows = n(a, 4);
    int cols = n(a, 5);
    float eps = x(a, 6);
    for (int r = 0; r < rows; r++) {
      long base = (long) r * cols;
      double ss = 0;
      for (int c = 0; c < cols; c++) {
        ss += (double) fa(x, base + c) * fa(x, base + c);
      }
      float rs = (float) (1 / Math.sqrt(ss / cols + eps));
      for (int c = 0; c < cols; c++) {
        fa(out, base + c, fa(x, base + c) * rs * fa(w, c));
      }
      fa(rstd, r, rs);
    }
  }

  private void rmsNormBackward(Object[] a) {
    long dx = p(a, 0);
    long dout = p(a, 1);
    long x = p(a, 2);
    long rstd = p(a, 3);
    long w = p(a, 4);
    int rows = n(a, 5);
    int cols = n(a, 6);
    for (int r = 0; r < rows; r++) {
      long base = (long) r * cols;
      float rs = fa(rstd, r);
      double dot = 0;
      for (int c = 0; c < cols; c++) {
        dot += (double) fa(dout, base + c) * fa(w, c) * fa(x, base + c) * rs;
      }
      double m = dot / cols;
      for (int c = 0; c < cols; c++) {
        double nn = fa(x, base + c) * rs;
        fadd(dx, base + c, (float) (rs * (fa(dout, base + c) * fa(w, c) - nn * m)));
      }
    }
  }

  private void rmsNormDw(Object[] a) {
    long dw = p(a, 0);
    long dout = p(a, 1);
    long x = p(a, 2);
    long rstd = p(a, 3);
    int rows = n(a, 4);
    int cols = n(a, 5);
    for (int c = 0; c < cols; c++) {
      double acc = 0;
      for (int r = 0; r < rows; r++) {
        long k = (long) r * cols + c;
        acc += (double) fa(dout, k) * fa(x, k) * fa(rstd, r);
      }
      fadd(dw, c, (float) acc);
    }
  }

  private void addBias(Object[] a) {
    long y = p(a, 0);
    long b = p(a, 1);
    int rows = n(a, 2);
    int cols = n(a, 3);
    for (long k = 0; k < (long) rows * cols; k++) {
      fadd(y, k, fa(b, k % cols));
    }
  }

  private void columnSum(Object[] a) {
    long out = p(a, 0);
    long x = p(a, 1);
    int rows = n(a, 2);
    int cols = n(a, 3);
    for (int c = 0; c < cols; c++) {
      double acc = 0;
      for (int r = 0; r < rows; r++) {
        acc += fa(x, (long) r * cols + c);
      }
      fadd(out, c, (float) acc);
    }
  }

  private void rope(Object[] a) {
    long x = p(a, 0);
    long positions = p(a, 1);
    long cos = p(a, 2);
    long sin = p(a, 3);
    int rows = n(a, 4);
    int width = n(a, 5);
    int col0 = n(a, 6);
    int heads = n(a, 7);
    int headDim = n(a, 8);
    float sign = n(a, 9) != 0 ? -1f : 1f;
    int half = headDim / 2;
    for (int r = 0; r < rows; r++) {
      for (int h = 0; h < heads; h++) {
        long at = (long) r * width + col0 + (long) h * headDim;
        for (int k = 0; k < half; k++) {
          int t = ia(positions, r) * half + k;
          float c = fa(cos, t);
          float s = sign * fa(sin, t);
          float u = fa(x, at + k);
          float v = fa(x, at + half + k);
          fa(x, at + k, u * c - v * s);
          fa(x, at + half + k, v * c + u * s);
        }
      }
    }
  }

  /** Softmax over p[0..n) in place; all zero when every score is -inf (no key allowed). */
  private static void softmax(double[] p, int n) {
    double m = Double.NEGATIVE_INFINITY;
    for (int j = 0; j < n; j++) {
      m = Math.max(m, p[j]);
    }
    double sum = 0;
    for (int j = 0; j < n; j++) {
      p[j] = m == Double.NEGATIVE_INFINITY ? 0 : Math.exp(p[j] - m);
      sum += p[j];
    }
    for (int j = 0; j < n; j++) {
      p[j] = sum > 0 ? p[j] / sum : 0;
    }
  }

  private void attention(Object[] a) {
    long y = p(a, 0);
    long att = p(a, 1);
    long qkv = p(a, 2);
    long mask = p(a, 3);
    int batch = n(a, 4);
    int seq = n(a, 5);
    int heads = n(a, 6);
    int kv = n(a, 7);
    int d = n(a, 8);
    float scale = x(a, 9);
    long width = (long) (heads + 2 * kv) * d;
    double[] pr = new double[seq];
    for (int b = 0; b < batch; b++) {
      for (int h = 0; h < heads; h++) {
        int g = h / (heads / kv);
        for (int i = 0; i < seq; i++) {
          long q = ((long) b * seq + i) * width + (long) h * d;
          for (int j = 0; j <= i; j++) {
            pr[j] = Double.NEGATIVE_INFINITY;
            if (ia(mask, (long) b * seq + j) != 0) {
              long k = ((long) b * seq + j) * width + (long) (heads + g) * d;
              double acc = 0;
              for (int e = 0; e < d; e++) {
                acc += (double) fa(qkv, q + e) * fa(qkv, k + e);
              }
              pr[j] = acc * scale;
            }
          }
          softmax(pr, i + 1);
          long arow = (((long) b * heads + h) * seq + i) * seq;
          for (int j = 0; j < seq; j++) {
            fa(att, arow + j, j <= i ? (float) pr[j] : 0f);
          }
          long yrow = ((long) b * seq + i) * ((long) heads * d) + (long) h * d;
          for (int e = 0; e < d; e++) {
            double acc = 0;
            for (int j = 0; j <= i; j++) {
              acc += fa(att, arow + j)
                  * fa(qkv, ((long) b * seq + j) * width + (long) (heads + kv + g) * d + e);
            }
            fa(y, yrow + e, (float) acc);
          }
        }
      }
    }
  }

  private void attentionBackwardQuery(Object[] a) {
    long dqkv = p(a, 0);
    long dsc = p(a, 1);
    long dy = p(a, 2);
    long att = p(a, 3);
    long qkv = p(a, 4);
    int batch = n(a, 5);
    int seq = n(a, 6);
    int heads = n(a, 7);
    int kv = n(a, 8);
    int d = n(a, 9);
    float scale = x(a, 10);
    long width = (long) (heads + 2 * kv) * d;
    double[] ds = new double[seq];
    for (int b = 0; b < batch; b++) {
      for (int h = 0; h < heads; h++) {
        int g = h / (heads / kv);
        for (int i = 0; i < seq; i++) {
          long arow = (((long) b * heads + h) * seq + i) * seq;
          long dyr = ((long) b * seq + i) * ((long) heads * d) + (long) h * d;
          double dot = 0;
          for (int j = 0; j <= i; j++) {
            long v = ((long) b * seq + j) * width + (long) (heads + kv + g) * d;
            double acc = 0;
            for (int e = 0; e < d; e++) {
              acc += (double) fa(dy, dyr + e) * fa(qkv, v + e);
            }
            ds[j] = acc;
            dot += fa(att, arow + j) * acc;
          }
          for (int j = 0; j < seq; j++) {
            double s = j <= i ? fa(att, arow + j) * (ds[j] - dot) : 0;
            if (j <= i) {
              ds[j] = s;
            }
            fa(dsc, arow + j, (float) s);
          }
          long dq = ((long) b * seq + i) * width + (long) h * d;
          for (int e = 0; e < d; e++) {
            double acc = 0;
            for (int j = 0; j <= i; j++) {
              acc += ds[j] * fa(qkv, ((long) b * seq + j) * width + (long) (heads + g) * d + e);
            }
            fa(dqkv, dq + e, (float) (acc * scale));
          }
        }
      }
    }
  }

  private void attentionBackwardKey(Object[] a) {
    long dqkv = p(a, 0);
    long dsc = p(a, 1);
    long dy = p(a, 2);
    long att = p(a, 3);
    long qkv = p(a, 4);
    int batch = n(a, 5);
    int seq = n(a, 6);
    int heads = n(a, 7);
    int kv = n(a, 8);
    int d = n(a, 9);
    float scale = x(a, 10);
    int rep = heads / kv;
    long width = (long) (heads + 2 * kv) * d;
    long ywidth = (long) heads * d;
    for (int b = 0; b < batch; b++) {
      for (int g = 0; g < kv; g++) {
        for (int j = 0; j < seq; j++) {
          for (int e = 0; e < d; e++) {
            double dk = 0;
            double dv = 0;
            for (int h = g * rep; h < (g + 1) * rep; h++) {
              long plane = ((long) b * heads + h) * seq;
              for (int i = j; i < seq; i++) {
                long row = (long) b * seq + i;
                dk += (double) fa(dsc, (plane + i) * seq + j) * fa(qkv, row * width + (long) h * d + e);
                dv += (double) fa(att, (plane + i) * seq + j) * fa(dy, row * ywidth + (long) h * d + e);
              }
            }
            long at = ((long) b * seq + j) * width;
            fa(dqkv, at + (long) (heads + g) * d + e, (float) (dk * scale));
            fa(dqkv, at + (long) (heads + kv + g) * d + e, (float) dv);
          }
        }
      }
    }
  }

  private void gelu(Object[] a, boolean backward) {
    double k0 = 0.7978845608028654;
    double k1 = 0.044715;
    if (!backward) {
      long out = p(a, 0);
      long x = p(a, 1);
      long n = p(a, 2);
      for (long k = 0; k < n; k++) {
        double v = fa(x, k);
        fa(out, k, (float) (0.5 * v * (1 + Math.tanh(k0 * (v + k1 * v * v * v)))));
      }
      return;
    }
    long dx = p(a, 0);
    long dout = p(a, 1);
    long x = p(a, 2);
    long n = p(a, 3);
    for (long k = 0; k < n; k++) {
      double v = fa(x, k);
      double t = Math.tanh(k0 * (v + k1 * v * v * v));
      double d = 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * k0 * (1 + 3 * k1 * v * v);
      fa(dx, k, (float) (fa(dout, k) * d));
    }
  }

  private void swiglu(Object[] a) {
    long act = p(a, 0);
    long gu = p(a, 1);
    int rows = n(a, 2);
    int inter = n(a, 3);
    for (long r = 0; r < rows; r++) {
      for (int c = 0; c < inter; c++) {
        double g = fa(gu, r * 2 * inter + c);
        double u = fa(gu, r * 2 * inter + inter + c);
        fa(act, r * inter + c, (float) (g / (1 + Math.exp(-g)) * u));
      }
    }
  }

  private void swigluBackward(Object[] a) {
    long dgu = p(a, 0);
    long dact = p(a, 1);
    long gu = p(a, 2);
    int rows = n(a, 3);
    int inter = n(a, 4);
    for (long r = 0; r < rows; r++) {
      for (int c = 0; c < inter; c++) {
        double g = fa(gu, r * 2 * inter + c);
        double u = fa(gu, r * 2 * inter + inter + c);
        double s = 1 / (1 + Math.exp(-g));
        double d = fa(dact, r * inter + c);
        fa(dgu, r * 2 * inter + c, (float) (d * u * s * (1 + g * (1 - s))));
        fa(dgu, r * 2 * inter + inter + c, (float) (d * g * s));
      }
    }
  }

  private void vocab(Object[] a) {
    long lse = p(a, 0);
    long logp = p(a, 1);
    long entropy = p(a, 2);
    long kl = p(a, 3);
    long z = p(a, 4);
    long zref = p(a, 5);
    long targets = p(a, 6);
    long stat = p(a, 7);
    long logpAt = p(a, 8);
    int rows = n(a, 9);
    int vocab = n(a, 10);
    boolean toLogProbs = n(a, 11) != 0;
    for (int r = 0; r < rows; r++) {
      long zr = (long) r * vocab;
      double m = Double.NEGATIVE_INFINITY;
      for (int v = 0; v < vocab; v++) {
        m = Math.max(m, fa(z, zr + v));
      }
      double s = 0;
      for (int v = 0; v < vocab; v++) {
        s += Math.exp(fa(z, zr + v) - m);
      }
      double l = m + Math.log(s);
      double pz = 0;
      double pk = 0;
      for (int v = 0; v < vocab; v++) {
        double pv = Math.exp(fa(z, zr + v) - l);
        pz += pv * fa(z, zr + v);
        if (zref != 0) {
          pk += pv * ((float) (fa(z, zr + v) - l) - fa(zref, zr + v));
        }
      }
      int at = ia(stat, r);
      fa(lse, at, (float) l);
      if (ia(logpAt, r) >= 0) {
        fa(logp, ia(logpAt, r), (float) (fa(z, zr + ia(targets, r)) - l));
      }
      if (entropy != 0) {
        fa(entropy, at, (float) (l - pz));
      }
      if (kl != 0) {
        fa(kl, at, (float) pk);
      }
      if (toLogProbs) {
        for (int v = 0; v < vocab; v++) {
          fa(z, zr + v, (float) (fa(z, zr + v) - l));
        }
      }
    }
  }

  private void vocabBackward(Object[] a) {
    long z = p(a, 0);
    long lse = p(a, 1);
    long gLogp = p(a, 2);
    long gFull = p(a, 3);
    long targets = p(a, 4);
    long stat = p(a, 5);
    long logpAt = p(a, 6);
    int rows = n(a, 7);
    int vocab = n(a, 8);
    boolean holdsLogProbs = n(a, 9) != 0;
    for (int r = 0; r < rows; r++) {
      long zr = (long) r * vocab;
      double shift = holdsLogProbs ? 0 : fa(lse, ia(stat, r));
      int li = ia(logpAt, r);
      double dl = li >= 0 ? fa(gLogp, li) : 0;
      double total = dl;
      if (gFull != 0) {
        for (int v = 0; v < vocab; v++) {
          total += fa(gFull, zr + v);
        }
      }
      int t = li >= 0 ? ia(targets, r) : -1;
      for (int v = 0; v < vocab; v++) {
        double d = -Math.exp(fa(z, zr + v) - shift) * total;
        if (gFull != 0) {
          d += fa(gFull, zr + v);
        }
        if (v == t) {
          d += dl;
        }
        fa(z, zr + v, (float) d);
      }
    }
  }

  private void kvCacheWrite(Object[] a) {
    long kc = p(a, 0);
    long vc = p(a, 1);
    long qkv = p(a, 2);
    int batch = n(a, 3);
    int seq = n(a, 4);
    int heads = n(a, 5);
    int kv = n(a, 6);
    int d = n(a, 7);
    int pos0 = n(a, 8);
    int maxLen = n(a, 9);
    long width = (long) (heads + 2 * kv) * d;
    for (int b = 0; b < batch; b++) {
      for (int t = 0; t < seq; t++) {
        long row = ((long) b * seq + t) * width;
        for (int g = 0; g < kv; g++) {
          for (int e = 0; e < d; e++) {
            long at = (((long) b * kv + g) * maxLen + pos0 + t) * d + e;
            fa(kc, at, fa(qkv, row + (long) (heads + g) * d + e));
            fa(vc, at, fa(qkv, row + (long) (heads + kv + g) * d + e));
          }
        }
      }
    }
  }

  private void attentionCached(Object[] a) {
    long y = p(a, 0);
    long qkv = p(a, 1);
    long kc = p(a, 2);
    long vc = p(a, 3);
    long mask = p(a, 4);
    int batch = n(a, 5);
    int n = n(a, 6);
    int heads = n(a, 7);
    int kv = n(a, 8);
    int d = n(a, 9);
    int c0 = n(a, 10);
    int maxLen = n(a, 11);
    float scale = x(a, 12);
    long width = (long) (heads + 2 * kv) * d;
    double[] pr = new double[c0 + n];
    for (int b = 0; b < batch; b++) {
      for (int h = 0; h < heads; h++) {
        int g = h / (heads / kv);
        long kbase = ((long) b * kv + g) * maxLen * d;
        for (int i = 0; i < n; i++) {
          int len = c0 + i + 1;
          long row = (long) b * n + i;
          long q = row * width + (long) h * d;
          for (int j = 0; j < len; j++) {
            pr[j] = Double.NEGATIVE_INFINITY;
            if (ia(mask, (long) b * maxLen + j) != 0) {
              double acc = 0;
              for (int e = 0; e < d; e++) {
                acc += (double) fa(qkv, q + e) * fa(kc, kbase + (long) j * d + e);
              }
              pr[j] = acc * scale;
            }
          }
          softmax(pr, len);
          for (int e = 0; e < d; e++) {
            double acc = 0;
            for (int j = 0; j < len; j++) {
              acc += pr[j] * fa(vc, kbase + (long) j * d + e);
            }
            fa(y, row * heads * d + (long) h * d + e, (float) acc);
          }
        }
      }
    }
  }

  private void dequant(String name, Object[] a) {
    long out = p(a, 0);
    if (p(a, 1) != 0) {
      throw new UnsupportedOperationException("bf16 dequantisation output is not emulated");
    }
    long src = p(a, 2);
    switch (name) {
      case "dequant_half" -> {
        int row0 = n(a, 3);
        int rows = n(a, 4);
        int cols = n(a, 5);
        Packed m = new Packed(src, n(a, 6) != 0 ? 1 : 0, 0, 0, 0, cols);
        for (int r = 0; r < rows; r++) {
          for (int k = 0; k < cols; k++) {
            fa(out, (long) r * cols + k, m.weight(row0 + r, k));
          }
        }
      }
      case "dequant_int8" -> {
        int row0 = n(a, 4);
        int rows = n(a, 5);
        int cols = n(a, 6);
        Packed m = new Packed(src, 2, p(a, 3), 0, 0, cols);
        for (int r = 0; r < rows; r++) {
          for (int k = 0; k < cols; k++) {
            fa(out, (long) r * cols + k, m.weight(row0 + r, k));
          }
        }
      }
      default -> {
        int row0 = n(a, 7);
        int rows = n(a, 8);
        int cols = n(a, 9);
        Packed m = new Packed(src, n(a, 6) != 0 ? 4 : 3, p(a, 3), p(a, 4), x(a, 5), cols);
        for (int r = 0; r < rows; r++) {
          for (int k = 0; k < cols; k++) {
            fa(out, (long) r * cols + k, m.weight(row0 + r, k));
          }
        }
      }
    }
  }

  /**
   * A packed matrix in emulated memory, decoded as dequant.cu does; format as gemv_packed's
   * (0 bf16, 1 fp16, 2 int8, 3 nf4, 4 nf4 with double quantisation).
   */
  private final class Packed {
    final long src;
    final int format;
    final long scaleStart;
    final long second;
    final float mean;
    final int cols;

    Packed(long src, int format, long scaleStart, long second, float mean, int cols) {
      this.src = src;
      this.format = format;
      this.scaleStart = scaleStart;
      this.second = second;
      this.mean = mean;
      this.cols = cols;
    }

    float weight(long r, int k) {
      switch (format) {
        case 0, 1 -> {
          int h = u16(src + 2 * (r * cols + k));
          return format == 1 ? HalfFloats.f16ToFloat(h) : Float.intBitsToFloat(h << 16);
        }
        case 2 -> {
          return (byte) u8(src + r * cols + k) * f(src + scaleStart + 4 * r);
        }
        default -> {
          int bt = u8(src + r * ((cols + 1) / 2) + k / 2);
          int code = (k & 1) != 0 ? bt & 0x0f : bt >> 4;
          long c = r * ((cols + 63) / 64) + k / 64;
          float absmax = format == 4
              ? (float) (byte) u8(src + scaleStart + c) * fa(second, c / 256) + mean
              : f(src + scaleStart + 4 * c);
          return NF4[code] * absmax;
        }
      }
    }
  }

  /** dequant.cu's gemv_packed: y (n, rows) (+)= x (n, cols) W^T from the stored bytes. */
  private void gemvPacked(Object[] a) {
    long y = p(a, 0);
    long xs = p(a, 1);
    int n = n(a, 7);
    int rows = n(a, 8);
    int cols = n(a, 9);
    boolean accumulate = n(a, 10) != 0;
    if (n > 16) {
      throw new IllegalArgumentException("gemv_packed takes at most 16 rows, got " + n);
    }
    Packed m = new Packed(p(a, 2), n(a, 6), p(a, 3), p(a, 4), x(a, 5), cols);
    float[] w = new float[cols];
    for (int r = 0; r < rows; r++) {
      for (int k = 0; k < cols; k++) {
        w[k] = m.weight(r, k);
      }
      for (int b = 0; b < n; b++) {
        double s = 0;
        for (int k = 0; k < cols; k++) {
          s += (double) fa(xs, (long) b * cols + k) * w[k];
        }
        long at = (long) b * rows + r;
        fa(y, at, accumulate ? fa(y, at) + (float) s : (float) s);
      }
    }
  }


  private double d(long addr) {
    Mem m = mem(addr);
    return m.buf.getDouble((int) (addr - m.base));
  }

  private void ia(long p, long k, int v) {
    Mem m = mem(p + 4 * k);
    m.buf.putInt((int) (p + 4 * k - m.base), v);
  }

  /**
   * sample_tokens by its contract (sampling.cu's comment, Hugging Face's order): repetition
   * penalty on the row's distinct ids, greedy as the first index of the maximum, temperature,
   * top-k keeping ties with the k-th, top-p removing the ascending (score, id) prefix whose mass
   * stays within 1 - top_p of the total but never the largest id of the maximum, then the
   * inverse CDF over ids in ascending order with the row's uniform.
   */
  private void sample(Object[] a) {
    long out = p(a, 0);
    long logits = p(a, 3);
    long history = p(a, 4);
    long historyLen = p(a, 5);
    int stride = n(a, 6);
    long uniforms = p(a, 7);
    long active = p(a, 8);
    int rows = n(a, 9);
    int vocab = n(a, 10);
    float temperature = x(a, 11);
    int topK = n(a, 12);
    float topP = x(a, 13);
    float penalty = x(a, 14);
    boolean greedy = n(a, 15) != 0;
    double[] s = new double[vocab];
    double[] w = new double[vocab];
    for (int r = 0; r < rows; r++) {
      if (ia(active, r) == 0) {
        continue;
      }
      for (int v = 0; v < vocab; v++) {
        s[v] = fa(logits, (long) r * vocab + v);
      }
      if (penalty != 1.0f) {
        java.util.Set<Integer> seen = new java.util.HashSet<>();
        for (int i = 0; i < ia(historyLen, r); i++) {
          int id = ia(history, (long) r * stride + i);
          if (seen.add(id)) {
            s[id] = s[id] < 0 ? s[id] * penalty : s[id] / penalty;
          }
        }
      }
      if (greedy) {
        int best = 0;
        for (int v = 1; v < vocab; v++) {
          if (s[v] > s[best]) {
            best = v;
          }
        }
        ia(out, r, best);
        continue;
      }
      if (temperature != 1.0f) {
        for (int v = 0; v < vocab; v++) {
          s[v] /= temperature;
        }
      }
      if (topK > 0 && topK < vocab) {
        double[] sorted = s.clone();
        java.util.Arrays.sort(sorted);
        double kth = sorted[vocab - topK];
        for (int v = 0; v < vocab; v++) {
          if (s[v] < kth) {
            s[v] = Double.NEGATIVE_INFINITY;
          }
        }
      }
      double m = Double.NEGATIVE_INFINITY;
      for (double v : s) {
        m = Math.max(m, v);
      }
      double total = 0;
      for (int v = 0; v < vocab; v++) {
        w[v] = s[v] == Double.NEGATIVE_INFINITY ? 0 : Math.exp(s[v] - m);
        total += w[v];
      }
      if (topP < 1.0f) {
        double removable = (1.0 - (double) topP) * total;
        Integer[] order = new Integer[vocab];
        for (int v = 0; v < vocab; v++) {
          order[v] = v;
        }
        java.util.Arrays.sort(order, (i, j) -> s[i] != s[j] ? Double.compare(s[i], s[j])
            : Integer.compare(i, j));
        int keep = -1;
        for (int v = 0; v < vocab; v++) {
          if (s[v] == m) {
            keep = v;
          }
        }
        double cum = 0;
        for (int id : order) {
          if (cum + w[id] > removable) {
            break;
          }
          cum += w[id];
          if (id != keep) {
            w[id] = 0;
          }
        }
        total = 0;
        for (double v : w) {
          total += v;
        }
      }
      double target = d(uniforms + 8L * r) * total;
      double acc = 0;
      int pick = -1;
      for (int v = 0; v < vocab; v++) {
        if (w[v] > 0) {
          pick = v;
          acc += w[v];
          if (acc > target) {
            break;
          }
        }
      }
      ia(out, r, pick);
    }
  }
}
