package ai.cory.common.cuda;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * GPU sampling against the same rule in Java (double): greedy picks must be identical (they
 * decide greedy generation); sampled picks are compared under the kernel's id-order draw with
 * the same uniforms, where only a float rounding at a boundary may differ (tolerance: one row in
 * 64, reported as the fraction of rows that differ).
 */
final class SamplingChecks {
  private static final int ROWS = 64;
  private static final int VOCAB = 32000;
  private static final int HISTORY = 40;

  private final DeviceScratch d;

  SamplingChecks(DeviceScratch d) {
    this.d = d;
  }

  List<CheckResult> run() {
    return List.of(check(true, 1f, 0, 1f, 1.3f), check(false, 0.7f, 50, 0.9f, 1.2f),
        check(false, 1f, 0, 0.95f, 1f));
  }

  private CheckResult check(boolean greedy, float temperature, int topK, float topP, float penalty) {
    float[] logits = d.rand(ROWS * VOCAB, 6);
    if (greedy) { // exact ties: the first index must win
      for (int r = 0; r < ROWS; r += 4) {
        logits[r * VOCAB + 100] = 50f;
        logits[r * VOCAB + 7000] = 50f;
      }
    }
    int[] history = new int[ROWS * HISTORY];
    int[] len = new int[ROWS];
    double[] u = new double[ROWS];
    int[] active = new int[ROWS];
    for (int r = 0; r < ROWS; r++) {
      len[r] = d.rnd.nextInt(HISTORY + 1);
      for (int i = 0; i < HISTORY; i++) {
        history[r * HISTORY + i] = d.rnd.nextInt(200); // repeats: penalised once per id
      }
      u[r] = d.rnd.nextDouble();
      active[r] = 1;
    }
    long out = d.put(new int[ROWS]);
    d.ops.launch("sample_tokens", new int[] {ROWS}, 1024, 0, out,
        d.arena.alloc(8L * ROWS * VOCAB), d.arena.alloc(8L * ROWS * VOCAB), d.put(logits),
        d.put(history), d.put(len), HISTORY, d.put(u), d.put(active), ROWS, VOCAB, temperature,
        topK, topP, penalty, greedy ? 1 : 0);
    int[] got = d.getInts(out, ROWS);
    int differ = 0;
    for (int r = 0; r < ROWS; r++) {
      double[] s = new double[VOCAB];
      for (int v = 0; v < VOCAB; v++) {
        s[v] = logits[r * VOCAB + v];
      }
      int ref = pick(s, Arrays.copyOfRange(history, r * HISTORY, r * HISTORY + len[r]), u[r],
          greedy, temperature, topK, topP, penalty);
      differ += ref == got[r] ? 0 : 1;
    }
    String name = greedy ? "sample_tokens greedy" : "sample_tokens t=" + temperature + " k="
        + topK + " p=" + topP + " penalty=" + penalty;
    return new CheckResult(name, ROWS + "x" + VOCAB, differ / (double) ROWS,
        greedy ? 0 : 1.0 / ROWS);
  }

  static int pick(double[] s, int[] history, double u, boolean greedy, double temperature,
      int topK, double topP, double penalty) {
    int n = s.length;
    if (penalty != 1) {
      boolean[] seen = new boolean[n];
      for (int id : history) {
        if (!seen[id]) {
          seen[id] = true;
          s[id] = s[id] < 0 ? s[id] * penalty : s[id] / penalty;
        }
      }
    }
    if (greedy) {
      int best = 0;
      for (int v = 1; v < n; v++) {
        best = s[v] > s[best] ? v : best;
      }
      return best;
    }
    for (int v = 0; v < n && temperature != 1; v++) {
      s[v] /= temperature;
    }
    if (topK > 0 && topK < n) {
      double[] sorted = s.clone();
      Arrays.sort(sorted);
      double kth = sorted[n - topK];
      for (int v = 0; v < n; v++) {
        s[v] = s[v] < kth ? Double.NEGATIVE_INFINITY : s[v];
      }
    }
    double max = Arrays.stream(s).max().orElseThrow();
    double[] w = new double[n];
    double total = 0;
    for (int v = 0; v < n; v++) {
      w[v] = s[v] == Double.NEGATIVE_INFINITY ? 0 : Math.exp(s[v] - max);
      total += w[v];
    }
    if (topP < 1) {
      List<Integer> order = new ArrayList<>();
      for (int v = 0; v < n; v++) {
        order.add(v);
      }
      order.sort(Comparator.<Integer>comparingDouble(v -> s[v]).thenComparingInt(v -> v));
      double removable = (1 - topP) * total;
      double cum = 0;
      for (int i = 0; i < n - 1; i++) { // the last in ascending order is always kept
        int v = order.get(i);
        cum += w[v];
        if (cum > removable) {
          break;
        }
        w[v] = 0;
      }
      total = Arrays.stream(w).sum();
    }
    double target = u * total;
    double acc = 0;
    int last = -1;
    for (int v = 0; v < n; v++) {
      if (w[v] > 0) {
        last = v;
        acc += w[v];
        if (acc > target) {
          return v;
        }
      }
    }
    return last;
  }
}
