package ai.cory.common.cuda;

import static ai.cory.common.cuda.DeviceScratch.THREADS;
import static ai.cory.common.cuda.DeviceScratch.grid;

import java.util.List;

/**
 * GPU against float64 references for causal attention (forward, both backward kernels, the
 * KV-cache chunk and decode step) and the fused vocabulary pass, on grouped-query heads with
 * left padding.
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
    return List.of(forwardAndBackward(), cached(), vocab());
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

  /**
   * The caches written for all T columns, then the last 3 columns as one cached chunk (queries
   * over the cache, each up to its own slot) and the last alone as a decode step: both equal
   * the full forward's rows.
   */
  CheckResult cached() {
    int maxLen = T + 3;
    double[][][][] p = probs();
    long pq = d.put(qkv);
    long kc = d.zeros((long) B * KV * maxLen * D);
    long vc = d.zeros((long) B * KV * maxLen * D);
    d.ops.launch("kv_cache_write", grid((long) B * T * KV * D), THREADS, 0, kc, vc, pq, B, T, H, KV,
        D, 0, maxLen);
    int[] cacheMask = new int[B * maxLen];
    for (int b = 0; b < B; b++) {
      System.arraycopy(mask, b * T, cacheMask, b * maxLen, T);
    }
    long pm = d.put(cacheMask);
    double worst = 0;
    for (int n : new int[] {3, 1}) {
      int c0 = T - n;
      float[] chunk = new float[B * n * W];
      for (int b = 0; b < B; b++) {
        System.arraycopy(qkv, (b * T + c0) * W, chunk, b * n * W, n * W);
      }
      long py = d.zeros((long) B * n * H * D);
      d.ops.launch("attention_cached", new int[] {n, H, B}, 64, 4 * T, py, d.put(chunk), kc, vc,
          pm, B, n, H, KV, D, c0, maxLen, (float) scale);
      double[] ref = new double[B * n * H * D];
      for (int b = 0; b < B; b++) {
        for (int i = 0; i < n; i++) {
          for (int h = 0; h < H; h++) {
            for (int j = 0; j <= c0 + i; j++) {
              for (int e = 0; e < D; e++) {
                ref[((b * n + i) * H + h) * D + e] +=
                    p[b][h][c0 + i][j] * v(b, j, h / (H / KV), e);
              }
            }
          }
        }
      }
      worst = Math.max(worst, CheckResult.error(d.get(py, ref.length), ref));
    }
    return new CheckResult("kv_cache_write+attention_cached", B + "x3 and " + B + "x1 over " + T,
        worst, TOL);
  }

  /**
   * The head's fused pass on 8 rows of GPT-2's vocabulary scattered as the engine lays them out
   * (statistics at stat[k], the taken token's log-prob at logp_at[k], none for the last row),
   * with reference log-probs for the KL, then the backward with both upstream gradients (the
   * taken token's and the full log-probs').
   */
  CheckResult vocab() {
    int n = 8;
    int vocab = 50257;
    float[] z = d.rand(n * vocab, 8);
    float[] q = d.rand(n * vocab, 8);
    for (int r = 0; r < n; r++) { // the reference as log-probs
      double lq = lse(q, r, vocab);
      for (int v = 0; v < vocab; v++) {
        q[r * vocab + v] = (float) (q[r * vocab + v] - lq);
      }
    }
    int[] tgt = new int[n];
    int[] stat = new int[n];
    int[] logpAt = new int[n];
    for (int r = 0; r < n; r++) {
      tgt[r] = d.rnd.nextInt(vocab);
      stat[r] = n - 1 - r;
      logpAt[r] = r == n - 1 ? -1 : 2 * r;
    }
    float[] gl = d.rand(2 * n, 1);
    float[] gf = d.rand(n * vocab, 1e-4);
    long pz = d.put(z);
    long pt = d.put(tgt);
    long ps = d.put(stat);
    long pa = d.put(logpAt);
    long lse = d.zeros(n);
    long logp = d.zeros(2 * n);
    long ent = d.zeros(n);
    long kl = d.zeros(n);
    d.ops.launch("vocab_forward", new int[] {n}, 1024, 0, lse, logp, ent, kl, pz, d.put(q), pt, ps,
        pa, n, vocab, 0);
    d.ops.launch("vocab_backward", new int[] {n}, 1024, 0, pz, lse, d.put(gl), d.put(gf), pt, ps,
        pa, n, vocab, 0);
    double[] ref = new double[5 * n + n * vocab];
    for (int r = 0; r < n; r++) {
      double l = lse(z, r, vocab);
      double h = l;
      double k = 0;
      double sg = 0;
      for (int v = 0; v < vocab; v++) {
        double lp = z[r * vocab + v] - l;
        double pr = Math.exp(lp);
        h -= pr * z[r * vocab + v];
        k += pr * (lp - q[r * vocab + v]);
        sg += gf[r * vocab + v];
      }
      ref[stat[r]] = l;
      ref[n + stat[r]] = h;
      ref[2 * n + stat[r]] = k;
      double dl = logpAt[r] >= 0 ? gl[logpAt[r]] : 0;
      if (logpAt[r] >= 0) {
        ref[3 * n + logpAt[r]] = z[r * vocab + tgt[r]] - l;
      }
      for (int v = 0; v < vocab; v++) {
        double pr = Math.exp(z[r * vocab + v] - l);
        ref[5 * n + r * vocab + v] = gf[r * vocab + v] + (v == tgt[r] ? dl : 0) - pr * (dl + sg);
      }
    }
    float[] got = LayerChecks.concat(LayerChecks.concat(d.get(lse, n), d.get(ent, n)),
        LayerChecks.concat(d.get(kl, n), d.get(logp, 2 * n)));
    double e1 = CheckResult.error(got, java.util.Arrays.copyOf(ref, 5 * n));
    double e2 = CheckResult.error(d.get(pz, n * vocab),
        java.util.Arrays.copyOfRange(ref, 5 * n, ref.length));
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
