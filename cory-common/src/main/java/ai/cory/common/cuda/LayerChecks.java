package ai.cory.common.cuda;

import static ai.cory.common.cuda.DeviceScratch.THREADS;
import static ai.cory.common.cuda.DeviceScratch.grid;

import java.util.List;

/**
 * GPU against float64 references for the per-element and per-row kernels: GELU, SwiGLU, RMSNorm,
 * LayerNorm, RoPE, embeddings, Adam. References are the layers' formulas written out in double
 * (the same formulas the CPU layers' javadoc states), so a disagreement points at the kernel.
 */
final class LayerChecks {
  static final double TOL = 2e-6;
  private static final int N = 64;
  private static final int C = 768;

  private final DeviceScratch d;

  LayerChecks(DeviceScratch d) {
    this.d = d;
  }

  List<CheckResult> run() {
    return List.of(gelu(), geluBackward(), swiglu(), swigluBackward(), rmsnorm(),
        rmsnormBackward(), layernorm(), layernormBackward(), rope(), embedding(),
        embeddingBackward(), axpyAndScale(), biasAndColumnSum(), adam());
  }

  private static double geluRef(double v) {
    return 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v * v * v)));
  }

  CheckResult gelu() {
    float[] x = d.rand(N * C, 4);
    long px = d.put(x);
    long out = d.zeros(x.length);
    d.ops.launch("gelu_forward", grid(x.length), THREADS, 0, out, px, (long) x.length);
    double[] ref = new double[x.length];
    for (int i = 0; i < x.length; i++) {
      ref[i] = geluRef(x[i]);
    }
    return new CheckResult("gelu_forward", N + "x" + C, CheckResult.error(d.get(out, x.length), ref), TOL);
  }

  CheckResult geluBackward() {
    float[] x = d.rand(N * C, 4);
    float[] g = d.rand(N * C, 1);
    long px = d.put(x);
    long pg = d.put(g);
    long out = d.zeros(x.length);
    d.ops.launch("gelu_backward", grid(x.length), THREADS, 0, out, pg, px, (long) x.length);
    double[] ref = new double[x.length];
    double k = Math.sqrt(2 / Math.PI);
    for (int i = 0; i < x.length; i++) {
      double v = x[i];
      double t = Math.tanh(k * (v + 0.044715 * v * v * v));
      ref[i] = g[i] * (0.5 * (1 + t) + 0.5 * v * (1 - t * t) * k * (1 + 3 * 0.044715 * v * v));
    }
    return new CheckResult("gelu_backward", N + "x" + C, CheckResult.error(d.get(out, x.length), ref), TOL);
  }

  CheckResult swiglu() {
    int inter = 344;
    float[] gu = d.rand(N * 2 * inter, 4);
    long out = d.zeros((long) N * inter);
    d.ops.launch("swiglu_forward", grid((long) N * inter), THREADS, 0, out, d.put(gu), N, inter);
    double[] ref = new double[N * inter];
    for (int r = 0; r < N; r++) {
      for (int c = 0; c < inter; c++) {
        double g = gu[r * 2 * inter + c];
        ref[r * inter + c] = g / (1 + Math.exp(-g)) * gu[r * 2 * inter + inter + c];
      }
    }
    return new CheckResult("swiglu_forward", N + "x" + inter, CheckResult.error(d.get(out, ref.length), ref), TOL);
  }

  CheckResult swigluBackward() {
    int inter = 344;
    float[] gu = d.rand(N * 2 * inter, 4);
    float[] da = d.rand(N * inter, 1);
    long out = d.zeros((long) N * 2 * inter);
    d.ops.launch("swiglu_backward", grid((long) N * inter), THREADS, 0, out, d.put(da), d.put(gu),
        N, inter);
    double[] ref = new double[N * 2 * inter];
    for (int r = 0; r < N; r++) {
      for (int c = 0; c < inter; c++) {
        double g = gu[r * 2 * inter + c];
        double u = gu[r * 2 * inter + inter + c];
        double s = 1 / (1 + Math.exp(-g));
        double dd = da[r * inter + c];
        ref[r * 2 * inter + c] = dd * u * s * (1 + g * (1 - s));
        ref[r * 2 * inter + inter + c] = dd * g * s;
      }
    }
    return new CheckResult("swiglu_backward", N + "x" + inter, CheckResult.error(d.get(out, ref.length), ref), TOL);
  }

  CheckResult rmsnorm() {
    float[] x = d.rand(N * C, 2);
    float[] w = d.rand(C, 1);
    long out = d.zeros((long) N * C);
    long rstd = d.zeros(N);
    d.ops.launch("rmsnorm_forward", new int[] {N}, THREADS, 0, out, rstd, d.put(x), d.put(w), N,
        C, 1e-5f);
    double[] ref = new double[N * C];
    for (int r = 0; r < N; r++) {
      double ss = 0;
      for (int c = 0; c < C; c++) {
        ss += (double) x[r * C + c] * x[r * C + c];
      }
      double rs = 1 / Math.sqrt(ss / C + 1e-5);
      for (int c = 0; c < C; c++) {
        ref[r * C + c] = x[r * C + c] * rs * w[c];
      }
    }
    return new CheckResult("rmsnorm_forward", N + "x" + C, CheckResult.error(d.get(out, ref.length), ref), TOL);
  }

  CheckResult rmsnormBackward() {
    float[] x = d.rand(N * C, 2);
    float[] w = d.rand(C, 1);
    float[] g = d.rand(N * C, 1);
    float[] dx0 = d.rand(N * C, 1);
    double[] rs = new double[N];
    float[] rsf = new float[N];
    for (int r = 0; r < N; r++) {
      double ss = 0;
      for (int c = 0; c < C; c++) {
        ss += (double) x[r * C + c] * x[r * C + c];
      }
      rs[r] = 1 / Math.sqrt(ss / C + 1e-5);
      rsf[r] = (float) rs[r];
    }
    long px = d.put(x);
    long pg = d.put(g);
    long prs = d.put(rsf);
    long pdx = d.put(dx0);
    long pdw = d.zeros(C);
    d.ops.launch("rmsnorm_backward", new int[] {N}, THREADS, 0, pdx, pg, px, prs, d.put(w), N, C);
    d.ops.launch("rmsnorm_dw", grid(C), THREADS, 0, pdw, pg, px, prs, N, C);
    double[] ref = new double[N * C + C];
    for (int r = 0; r < N; r++) {
      double m = 0;
      for (int c = 0; c < C; c++) {
        m += (double) g[r * C + c] * w[c] * x[r * C + c] * rs[r];
      }
      m /= C;
      for (int c = 0; c < C; c++) {
        double n = x[r * C + c] * rs[r];
        ref[r * C + c] = dx0[r * C + c] + rs[r] * (g[r * C + c] * w[c] - n * m);
        ref[N * C + c] += g[r * C + c] * n;
      }
    }
    float[] got = concat(d.get(pdx, N * C), d.get(pdw, C));
    return new CheckResult("rmsnorm_backward+dw", N + "x" + C, CheckResult.error(got, ref), TOL);
  }

  CheckResult layernorm() {
    float[] x = d.rand(N * C, 2);
    float[] w = d.rand(C, 1);
    float[] b = d.rand(C, 1);
    long out = d.zeros((long) N * C);
    d.ops.launch("layernorm_forward", new int[] {N}, THREADS, 0, out, d.zeros(N), d.zeros(N),
        d.put(x), d.put(w), d.put(b), N, C, 1e-5f);
    double[] ref = new double[N * C];
    for (int r = 0; r < N; r++) {
      double[] st = stats(x, r);
      for (int c = 0; c < C; c++) {
        ref[r * C + c] = (x[r * C + c] - st[0]) * st[1] * w[c] + b[c];
      }
    }
    return new CheckResult("layernorm_forward", N + "x" + C, CheckResult.error(d.get(out, ref.length), ref), TOL);
  }

  private static double[] stats(float[] x, int r) {
    double mu = 0;
    for (int c = 0; c < C; c++) {
      mu += x[r * C + c];
    }
    mu /= C;
    double v = 0;
    for (int c = 0; c < C; c++) {
      v += (x[r * C + c] - mu) * (x[r * C + c] - mu);
    }
    return new double[] {mu, 1 / Math.sqrt(v / C + 1e-5)};
  }

  CheckResult layernormBackward() {
    float[] x = d.rand(N * C, 2);
    float[] w = d.rand(C, 1);
    float[] g = d.rand(N * C, 1);
    float[] mean = new float[N];
    float[] rstd = new float[N];
    double[][] st = new double[N][];
    for (int r = 0; r < N; r++) {
      st[r] = stats(x, r);
      mean[r] = (float) st[r][0];
      rstd[r] = (float) st[r][1];
    }
    long px = d.put(x);
    long pg = d.put(g);
    long pm = d.put(mean);
    long pr = d.put(rstd);
    long pdx = d.zeros((long) N * C);
    long pdw = d.zeros(C);
    long pdb = d.zeros(C);
    d.ops.launch("layernorm_backward", new int[] {N}, THREADS, 0, pdx, pg, px, pm, pr, d.put(w), N, C);
    d.ops.launch("layernorm_dwdb", grid(C), THREADS, 0, pdw, pdb, pg, px, pm, pr, N, C);
    double[] ref = new double[N * C + 2 * C];
    for (int r = 0; r < N; r++) {
      double mg = 0;
      double mgn = 0;
      for (int c = 0; c < C; c++) {
        double gg = (double) g[r * C + c] * w[c];
        mg += gg;
        mgn += gg * (x[r * C + c] - st[r][0]) * st[r][1];
      }
      mg /= C;
      mgn /= C;
      for (int c = 0; c < C; c++) {
        double n = (x[r * C + c] - st[r][0]) * st[r][1];
        ref[r * C + c] = st[r][1] * (g[r * C + c] * w[c] - mg - n * mgn);
        ref[N * C + c] += g[r * C + c] * n;
        ref[N * C + C + c] += g[r * C + c];
      }
    }
    float[] got = concat(concat(d.get(pdx, N * C), d.get(pdw, C)), d.get(pdb, C));
    return new CheckResult("layernorm_backward+dwdb", N + "x" + C, CheckResult.error(got, ref), TOL);
  }

  CheckResult rope() {
    int heads = 12;
    int hd = 64;
    int width = 3 * heads * hd;
    int half = hd / 2;
    int maxPos = 128;
    float[] x = d.rand(N * width, 1);
    int[] pos = new int[N];
    float[] cos = new float[maxPos * half];
    float[] sin = new float[maxPos * half];
    for (int p = 0; p < maxPos; p++) {
      for (int i = 0; i < half; i++) {
        double a = p / Math.pow(10000.0, 2.0 * i / hd);
        cos[p * half + i] = (float) Math.cos(a);
        sin[p * half + i] = (float) Math.sin(a);
      }
    }
    for (int r = 0; r < N; r++) {
      pos[r] = (r * 7) % maxPos;
    }
    long px = d.put(x);
    d.ops.launch("rope_apply", grid((long) N * heads * half), THREADS, 0, px, d.put(pos), d.put(cos),
        d.put(sin), N, width, 0, heads, hd, 0);
    double[] ref = DeviceScratch.widen(x);
    for (int r = 0; r < N; r++) {
      for (int h = 0; h < heads; h++) {
        for (int i = 0; i < half; i++) {
          int at = r * width + h * hd;
          double c = cos[pos[r] * half + i];
          double s = sin[pos[r] * half + i];
          double a = x[at + i];
          double b = x[at + half + i];
          ref[at + i] = a * c - b * s;
          ref[at + half + i] = b * c + a * s;
        }
      }
    }
    return new CheckResult("rope_apply", N + "x" + heads + "x" + hd, CheckResult.error(d.get(px, x.length), ref), TOL);
  }

  CheckResult embedding() {
    int vocab = 1000;
    int maxPos = 128;
    float[] wte = d.rand(vocab * C, 1);
    float[] wpe = d.rand(maxPos * C, 1);
    int[] tok = new int[N];
    int[] pos = new int[N];
    for (int r = 0; r < N; r++) {
      tok[r] = d.rnd.nextInt(vocab);
      pos[r] = r % maxPos;
    }
    long out = d.zeros((long) N * C);
    d.ops.launch("embedding_forward", grid((long) N * C), THREADS, 0, out, d.put(tok), d.put(pos),
        d.put(wte), d.put(wpe), N, C);
    double[] ref = new double[N * C];
    for (int r = 0; r < N; r++) {
      for (int c = 0; c < C; c++) {
        ref[r * C + c] = (double) wte[tok[r] * C + c] + wpe[pos[r] * C + c];
      }
    }
    return new CheckResult("embedding_forward", N + "x" + C, CheckResult.error(d.get(out, ref.length), ref), TOL);
  }

  /** Rows sharing tokens and positions: the scattered sums are what atomics must produce. */
  CheckResult embeddingBackward() {
    int vocab = 50;
    int maxPos = 16;
    float[] g = d.rand(N * C, 1);
    int[] tok = new int[N];
    int[] pos = new int[N];
    for (int r = 0; r < N; r++) {
      tok[r] = d.rnd.nextInt(vocab);
      pos[r] = r % maxPos;
    }
    long dwte = d.zeros((long) vocab * C);
    long dwpe = d.zeros((long) maxPos * C);
    d.ops.launch("embedding_backward", grid((long) N * C), THREADS, 0, dwte, dwpe, d.put(g),
        d.put(tok), d.put(pos), N, C);
    double[] ref = new double[(vocab + maxPos) * C];
    for (int r = 0; r < N; r++) {
      for (int c = 0; c < C; c++) {
        ref[tok[r] * C + c] += g[r * C + c];
        ref[(vocab + pos[r]) * C + c] += g[r * C + c];
      }
    }
    float[] got = concat(d.get(dwte, vocab * C), d.get(dwpe, maxPos * C));
    return new CheckResult("embedding_backward", N + "x" + C, CheckResult.error(got, ref), TOL);
  }

  /** LoRA's scaled add and a plain scale: y = 0.5 (y + 0.25 x). */
  CheckResult axpyAndScale() {
    int n = N * C;
    float[] y = d.rand(n, 1);
    float[] x = d.rand(n, 1);
    long py = d.put(y);
    d.ops.launch("axpy", grid(n), THREADS, 0, py, d.put(x), 0.25f, (long) n);
    d.ops.launch("scale", grid(n), THREADS, 0, py, 0.5f, (long) n);
    double[] ref = new double[n];
    for (int i = 0; i < n; i++) {
      ref[i] = 0.5 * (y[i] + 0.25 * x[i]);
    }
    return new CheckResult("axpy+scale", String.valueOf(n), CheckResult.error(d.get(py, n), ref), TOL);
  }

  /** A bias broadcast over rows, then its gradient: column sums added to a running total. */
  CheckResult biasAndColumnSum() {
    float[] y = d.rand(N * C, 1);
    float[] b = d.rand(C, 1);
    float[] acc = d.rand(C, 1);
    long py = d.put(y);
    long pacc = d.put(acc);
    d.ops.launch("add_bias", grid((long) N * C), THREADS, 0, py, d.put(b), N, C);
    d.ops.launch("column_sum", grid(C), THREADS, 0, pacc, py, N, C);
    double[] ref = new double[N * C + C];
    for (int c = 0; c < C; c++) {
      ref[N * C + c] = acc[c];
    }
    for (int r = 0; r < N; r++) {
      for (int c = 0; c < C; c++) {
        ref[r * C + c] = (double) y[r * C + c] + b[c];
        ref[N * C + c] += ref[r * C + c];
      }
    }
    float[] got = concat(d.get(py, N * C), d.get(pacc, C));
    return new CheckResult("add_bias+column_sum", N + "x" + C, CheckResult.error(got, ref), TOL);
  }

  CheckResult adam() {
    int n = 100_000;
    float[] p = d.rand(n, 1);
    float[] m = d.rand(n, 0.1);
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = (float) (d.rnd.nextDouble() * 0.01);
    }
    float[] g = d.rand(n, 1);
    double lr = 1e-3;
    double b1 = 0.9f; // the kernel's scalars are float32: the reference takes them as passed
    double b2 = 0.999f;
    int t = 3;
    double step = (float) (lr * Math.sqrt(1 - Math.pow(b2, t)) / (1 - Math.pow(b1, t)));
    double eps = (float) (1e-8 * Math.sqrt(1 - Math.pow(b2, t)));
    long pp = d.put(p);
    long pg = d.put(g);
    d.ops.launch("adam_step", grid(n), THREADS, 0, pp, d.put(m), d.put(v), pg, (long) n,
        (float) step, (float) b1, (float) b2, (float) eps);
    double[] ref = new double[n];
    double[] update = new double[n];
    for (int i = 0; i < n; i++) {
      double mi = b1 * m[i] + (1 - b1) * g[i];
      double vi = b2 * v[i] + (1 - b2) * (double) g[i] * g[i];
      update[i] = step * mi / (Math.sqrt(vi) + eps);
      ref[i] = p[i] - update[i];
    }
    // the parameters, and the update (written over the gradient) at its own, smaller scale
    double error = Math.max(CheckResult.error(d.get(pp, n), ref),
        CheckResult.error(d.get(pg, n), update));
    return new CheckResult("adam_step", String.valueOf(n), error, TOL);
  }

  static float[] concat(float[] a, float[] b) {
    float[] c = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, c, a.length, b.length);
    return c;
  }
}
