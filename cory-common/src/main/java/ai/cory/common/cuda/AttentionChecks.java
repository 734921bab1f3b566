package ai.cory.common.cuda;

import static ai.cory.common.cuda.DeviceScratch.THREADS;
import static ai.cory.common.cuda.DeviceScratch.grid;

import java.util.List;

/**
 * GPU against float64 references for causal attention (forward, both backward kernels, the
 * KV-cache decode step) and the fused vocabulary pass, on grouped-query heads with left padding.
 */
final class AttentionChecks {
  static final double TOL = 5e-6;
  private static final int B = 2;
  private static final int T = 19;
  private static final int H = 4;
  private static final int KV = 2;
  private static final int D = 16;
  private static final int W = (H + 2 * KV) * D;

  private final DeviceScratch d;
  private final float[] qkv;
  private final int[] mask;
  private final double scale = 1 / Math.sqrt(D);

  AttentionChecks(DeviceScratch d) {
    this.d = d;
    this.qkv = d.rand(B * T * W, 1);
    this.mask = new int[B * T];
    for (int b = 0; b < B; b++) {
      for (int t = 0; t < T; t++) {
        mask[b * T + t] = b == 1 && t < 5 ? 0 : 1; // row 1: five left-padding positions
      }
    }
  }

  List<CheckResult> run() {
    return List.of(forwardAndBackward(), decode(), vocab());
  }

  private double q(int b, int t, int h, int e) {
    return qkv[(b * T + t) * W + h * D + e];
  }

  private double k(int b, int t, int g, int e) {
    return qkv[(b * T + t) * W + (H + g) * D + e];
  }

  private double v(int b, int t, int g, int e) {
    return qkv[(b * T + t) * W + (H + KV + g) * D + e];
  }

  /** Probabilities p[b][h][i][j] in double, zero rows where no key is allowed. */
  private double[][][][] probs() {
    double[][][][] p = new double[B][H][T][T];
    for (int b = 0; b < B; b++) {
      for (int h = 0; h < H; h++) {
        int g = h / (H / KV);
        for (int i = 0; i < T; i++) {
          double m = Double.NEGATIVE_INFINITY;
          double[] s = new double[T];
          for (int j = 0; j <= i; j++) {
            s[j] = Double.NEGATIVE_INFINITY;
            if (mask[b * T + j] != 0) {
              double acc = 0;
              for (int e = 0; e < D; e++) {
                acc += q(b, i, h, e) * k(b, j, g, e);
              }
              s[j] = acc * scale;
            }
            m = Math.max(m, s[j]);
          }
          double sum = 0;
          for (int j = 0; j <= i; j++) {
            p[b][h][i][j] = m == Double.NEGATIVE_INFINITY ? 0 : Math.exp(s[j] - m);
            sum += p[b][h][i][j];
          }
          for (int j = 0; j <= i; j++) {
            p[b][h][i][j] = sum > 0 ? p[b][h][i][j] / sum : 0;
          }
        }
      }
    }
    return p;
  }

  CheckResult forwardAndBackward() {
    double[][][][] p = probs();
    float[] dy = d.rand(B * T * H * D, 1);
    long pq = d.put(qkv);
    long pm = d.put(mask);
    long py = d.zeros((long) B * T * H * D);
    long patt = d.zeros((long) B * H * T * T);
    d.ops.launch("attention_forward", new int[] {T, H, B}, 64, 4 * T, py, patt, pq, pm, B, T, H,
        KV, D, (float) scale);
    long pdy = d.put(dy);
    long pds = d.zeros((long) B * H * T * T);
    long pdq = d.zeros((long) B * T * W);
    d.ops.launch("attention_backward_query", new int[] {T, H, B}, 64, 4 * T, pdq, pds, pdy, patt,
        pq, B, T, H, KV, D, (float) scale);
    d.ops.launch("attention_backward_key", new int[] {T, KV, B}, D, 0, pdq, pds, pdy, patt, pq, B,
        T, H, KV, D, (float) scale);
    double[] y = new double[B * T * H * D];
    double[] dq = new double[B * T * W];
    for (int b = 0; b < B; b++) {
      for (int h = 0; h < H; h++) {
        int g = h / (H / KV);
        for (int i = 0; i < T; i++) {
          double[] dp = new double[T];
          double dot = 0;
          for (int j = 0; j <= i; j++) {
            for (int e = 0; e < D; e++) {
              y[(b * T + i) * H * D + h * D + e] += p[b][h][i][j] * v(b, j, g, e);
              dp[j] += dy[(b * T + i) * H * D + h * D + e] * v(b, j, g, e);
            }
            dot += p[b][h][i][j] * dp[j];
          }
          for (int j = 0; j <= i; j++) {
            double ds = p[b][h][i][j] * (dp[j] - dot);
            for (int e = 0; e < D; e++) {
              dq[(b * T + i) * W + h * D + e] += scale * ds * k(b, j, g, e);
              dq[(b * T + j) * W + (H + g) * D + e] += scale * ds * q(b, i, h, e);
              dq[(b * T + j) * W + (H + KV + g) * D + e] += p[b][h][i][j] * dy[(b * T + i) * H * D + h * D + e];
            }
          }
        }
      }
    }
    double ey = CheckResult.error(d.get(py, y.length), y);
    double eg = CheckResult.error(d.get(pdq, dq.length), dq);
    return new CheckResult("attention_forward+backward",
        B + "x" + T + " H" + H + " KV" + KV + " D" + D, Math.max(ey, eg), TOL);
  }

  /** Prefill T-1 positions into the caches, then one decode step equals the full forward's row. */
  CheckResult decode() {
    int maxLen = T + 3;
    double[][][][] p = probs();
    long pq = d.put(qkv);
    long kc = d.zeros((long) B * KV * maxLen * D);
    long vc = d.zeros((long) B * KV * maxLen * D);
    d.ops.launch("kv_cache_write", grid((long) B * T * KV * D), THREADS, 0, kc, vc, pq, B, T, H, KV,
        D, 0, maxLen);
    int[] cacheMask = new int[B * maxLen];
    float[] step = new float[B * W];
    for (int b = 0; b < B; b++) {
      System.arraycopy(mask, b * T, cacheMask, b * maxLen, T);
      System.arraycopy(qkv, (b * T + T - 1) * W, step, b * W, W);
    }
    long py = d.zeros((long) B * H * D);
    d.ops.launch("attention_decode", new int[] {H, B}, 64, 4 * T, py, d.put(step), kc, vc,
        d.put(cacheMask), B, H, KV, D, T, maxLen, (float) scale);
    double[] ref = new double[B * H * D];
    for (int b = 0; b < B; b++) {
      for (int h = 0; h < H; h++) {
        for (int j = 0; j < T; j++) {
          for (int e = 0; e < D; e++) {
            ref[b * H * D + h * D + e] += p[b][h][T - 1][j] * v(b, j, h / (H / KV), e);
          }
        }
      }
    }
    return new CheckResult("kv_cache_write+attention_decode", B + "x1 over " + T,
        CheckResult.error(d.get(py, ref.length), ref), TOL);
  }

  CheckResult vocab() {
    int n = 8;
    int vocab = 50257;
    float[] z = d.rand(n * vocab, 8);
    float[] zr = d.rand(n * vocab, 8);
    int[] tgt = new int[n];
    float[] gl = d.rand(n, 1);
    float[] ge = d.rand(n, 1);
    for (int r = 0; r < n; r++) {
      tgt[r] = d.rnd.nextInt(vocab);
    }
    long pz = d.put(z);
    long pt = d.put(tgt);
    long logp = d.zeros(n);
    long ent = d.zeros(n);
    long lse = d.zeros(n);
    long kl = d.zeros(n);
    d.ops.launch("vocab_forward", new int[] {n}, 1024, 0, logp, ent, lse, kl, pz, d.put(zr), pt, n, vocab);
    long dz = d.zeros((long) n * vocab);
    d.ops.launch("vocab_backward", new int[] {n}, 1024, 0, dz, pz, lse, ent, pt, d.put(gl), d.put(ge), n, vocab);
    double[] ref = new double[4 * n + n * vocab];
    for (int r = 0; r < n; r++) {
      double l = lse(z, r, vocab);
      double lq = lse(zr, r, vocab);
      double h = 0;
      double k = 0;
      for (int v = 0; v < vocab; v++) {
        double lp = z[r * vocab + v] - l;
        double pr = Math.exp(lp);
        h -= pr * lp;
        k += pr * (lp - (zr[r * vocab + v] - lq));
      }
      ref[r] = z[r * vocab + tgt[r]] - l;
      ref[n + r] = h;
      ref[2 * n + r] = l;
      ref[3 * n + r] = k;
      for (int v = 0; v < vocab; v++) {
        double lp = z[r * vocab + v] - l;
        double pr = Math.exp(lp);
        ref[4 * n + r * vocab + v] = gl[r] * ((v == tgt[r] ? 1 : 0) - pr) - ge[r] * pr * (lp + h);
      }
    }
    float[] got = LayerChecks.concat(LayerChecks.concat(d.get(logp, n), d.get(ent, n)),
        LayerChecks.concat(d.get(lse, n), d.get(kl, n)));
    double e1 = CheckResult.error(got, java.util.Arrays.copyOf(ref, 4 * n));
    double e2 = CheckResult.error(d.get(dz, n * vocab), java.util.Arrays.copyOfRange(ref, 4 * n, ref.length));
    return new CheckResult("vocab_forward+backward", n + "x" + vocab, Math.max(e1, e2), TOL);
  }

  private static double lse(float[] z, int r, int vocab) {
    double m = Double.NEGATIVE_INFINITY;
    for (int v = 0; v < vocab; v++) {
      m = Math.max(m, z[r * vocab + v]);
    }
    double s = 0;
    for (int v = 0; v < vocab; v++) {
      s += Math.exp(z[r * vocab + v] - m);
    }
    return m + Math.log(s);
  }
}
